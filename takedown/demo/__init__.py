"""Demo data and a local demo site for the embedded default (development only).

A floor beside `web`: seeding cases in every state needs the services of every app below it
(cases, matching, notices), and the demo site and its host names are nothing the product uses.
"""
