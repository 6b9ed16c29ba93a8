"""What operators watch: /healthz (database, queue, storage) and /metrics (Prometheus text format).

Metrics are read from the database and the queue at scrape time, not counted in process memory, so
any API process answers for the whole fleet of API and worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Float, case, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from crowdexports.exports.statuses import EmailStatus, ExportStatus
from crowdexports.models import Export, WebhookAttempt, WebhookDelivery
from crowdexports.schedules import metrics as schedule_metrics
from crowdexports.webhooks import deliveries
from crowdexports.webhooks.rules import Outcome

if TYPE_CHECKING:  # runtime.py wires these modules together, so they may not import it
    from crowdexports.runtime import Runtime

DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
HEALTH_PROBE_KEY = "healthz/probe"


def health(runtime: Runtime) -> dict[str, str]:
    """Each backing service: "ok" or "unavailable"."""
    report = {}
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception:
        report["database"] = "unavailable"
    try:
        if runtime.queue_size is not None:
            runtime.queue_size()
        report["queue"] = "ok"
    except Exception:
        report["queue"] = "unavailable"
    try:
        runtime.storage.exists(HEALTH_PROBE_KEY)
        report["storage"] = "ok"
    except Exception:
        report["storage"] = "unavailable"
    return report


def _duration_seconds(dialect: str) -> ColumnElement[float]:
    if dialect == "sqlite":
        return (func.julianday(Export.finished_at) - func.julianday(Export.started_at)) * 86400.0
    return func.extract("epoch", Export.finished_at - Export.started_at).cast(Float)


class _DatabaseCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        with self.runtime.sessions() as session:
            by_status = dict(session.execute(select(Export.status, func.count()).group_by(Export.status)).all())
            duration = _duration_seconds(self.runtime.engine.dialect.name)
            bucket_counts = session.execute(
                select(*[func.sum(case((duration <= bound, 1), else_=0)) for bound in DURATION_BUCKETS],
                       func.count(), func.coalesce(func.sum(duration), 0.0))
                .where(Export.status == ExportStatus.SUCCEEDED, Export.started_at.is_not(None))
            ).one()
            emails = session.execute(select(
                func.coalesce(func.sum(case((Export.email_attempts > 1, Export.email_attempts - 1), else_=0)), 0),
                func.count().filter(Export.email_status == EmailStatus.FAILED),
                func.count().filter(Export.email_status == EmailStatus.UNKNOWN),
                func.count().filter(Export.email_status == EmailStatus.SENT),
            )).one()
        exports = GaugeMetricFamily("crowdexports_exports", "Exports by status.", labels=["status"])
        for status in ExportStatus:
            exports.add_metric([status], by_status.get(status, 0))
        yield exports
        *buckets, count, total = bucket_counts
        yield HistogramMetricFamily(
            "crowdexports_export_duration_seconds", "Time from claim to success of succeeded exports.",
            buckets=[*[(str(bound), int(n or 0)) for bound, n in zip(DURATION_BUCKETS, buckets, strict=True)],
                     ("+Inf", int(count))],
            sum_value=float(total),
        )
        retries, failed, unknown, sent = emails
        yield CounterMetricFamily("crowdexports_emails_sent", "Export emails delivered.", value=sent)
        yield CounterMetricFamily("crowdexports_email_retries", "Email attempts retried after a transient error.",
                                  value=retries)
        yield CounterMetricFamily("crowdexports_email_failures", "Export emails given up on.", value=failed)
        yield GaugeMetricFamily("crowdexports_emails_unknown",
                                "Emails whose delivery is uncertain (never resent).", value=unknown)
        yield from self._webhooks()
        if self.runtime.queue_size is not None:
            yield GaugeMetricFamily("crowdexports_queue_depth", "Messages waiting in the task queue.",
                                    value=self.runtime.queue_size())
        with self.runtime.sessions() as session:
            yield from schedule_metrics.collect(session)


    def _webhooks(self) -> Iterator[Metric]:
        """Deliveries by status (pending ones include those being attempted) and attempts by outcome."""
        with self.runtime.sessions() as session:
            by_status = dict(session.execute(select(WebhookDelivery.status, func.count())
                                             .group_by(WebhookDelivery.status)).all())
            by_outcome = dict(session.execute(select(WebhookAttempt.outcome, func.count())
                                              .group_by(WebhookAttempt.outcome)).all())
        statuses = GaugeMetricFamily("crowdexports_webhook_deliveries", "Webhook deliveries by status.",
                                     labels=["status"])
        for status in (deliveries.PENDING, deliveries.SUCCEEDED, deliveries.FAILED):
            statuses.add_metric([status], by_status.get(status, 0))
        yield statuses
        outcomes = CounterMetricFamily("crowdexports_webhook_attempts", "Webhook delivery attempts by outcome.",
                                       labels=["outcome"])
        for outcome in Outcome:
            outcomes.add_metric([outcome], by_outcome.get(outcome, 0))
        yield outcomes


def metrics_text(runtime: Runtime) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(runtime))
    return generate_latest(registry)
