"""Accounts use django.contrib.auth's User; case roles live on cases.Membership."""
