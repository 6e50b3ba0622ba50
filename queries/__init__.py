"""The query texts (Q1–Q13 per scenario and dialect, README.md their meanings): installed as the package data of
`btb.queries` (setup.py maps this folder), read by btb.engines.querytexts with importlib.resources."""
