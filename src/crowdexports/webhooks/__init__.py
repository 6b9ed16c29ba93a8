"""Webhooks (issue 17): an owner's endpoints told, signed, when their exports finish.

`rules` says what a delivery's answer means and when to try again; `addresses` which hosts may be called;
`signing` the Standard Webhooks headers; `sending` one POST; `deliveries` queues, claims and records
attempts; `endpoints` the endpoints an owner registers.
"""
