"""Pure geometry processing (no domain knowledge): simplify, round, dissolve, encode."""
