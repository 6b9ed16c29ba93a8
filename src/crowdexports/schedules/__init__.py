"""Recurring exports (issue 17): a rule's run times (timing), the schedules' rows and their API."""
