"""The commands a user runs on classifier runs, `python -m classifiers.tools.<name>`: ship a
run as its dataset's feature network (ship)."""
