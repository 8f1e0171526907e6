"""What happened when: clocks, corrected times, orderings (docs/chronology.md)."""
