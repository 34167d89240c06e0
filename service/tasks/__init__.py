"""The /task resource: schemas, logic and views."""
