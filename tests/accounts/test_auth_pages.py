"""Sign-in and sign-out pages."""

from __future__ import annotations

from tests.conftest import PASSWORD


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sign in to Inquest" in body
    assert 'name="username"' in body and 'name="password"' in body
    assert "csrfmiddlewaretoken" in body


def test_login_and_land_on_home(client, lead):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "My cases" in client.get("/").content.decode()


def test_login_keeps_next(client, lead):
    body = client.get("/accounts/login/?next=/cases/").content.decode()
    assert 'name="next" value="/cases/"' in body
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/cases/"}
    )
    assert response["Location"] == "/cases/"


def test_wrong_password_shows_an_error(client, lead):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in body
    assert 'class="form-errors"' in body


def test_empty_form_shows_field_errors(client, db):
    body = client.post("/accounts/login/", {}).content.decode()
    assert body.count("This field is required.") == 2
    assert 'aria-invalid="true"' in body


def test_logout_is_a_post(client, lead):
    client.force_login(lead)
    assert client.get("/accounts/logout/").status_code == 405
    page = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in page
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302
