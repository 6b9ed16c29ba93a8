"""export options

Revision ID: 9b4e6a1f2c37
Revises: 7c3f9e21b4d8
Create Date: 2026-12-04 19:00:00.000000

An export's options become one JSON object, `options` = `{"format": {...}, "type": {...}}` (the
writer's and the export type's: see exports.options), replacing `csv_dialect`, which becomes the csv
writer's `{"dialect": ...}`. xlsx and orders have no options: `{}` each. Downgrade maps back.
Plain ADD/DROP COLUMNs, not batch mode: on SQLite a batch would copy `exports`, which `export_events`
references, and the foreign key refuses its drop.
"""
import sqlalchemy as sa
from alembic import op

revision = '9b4e6a1f2c37'
down_revision = '7c3f9e21b4d8'
branch_labels = None
depends_on = None

_exports = sa.table('exports', sa.column('id', sa.Integer()), sa.column('format', sa.String(8)),
                    sa.column('csv_dialect', sa.String(16)), sa.column('options', sa.JSON()))


def upgrade() -> None:
    op.add_column('exports', sa.Column('options', sa.JSON(), nullable=True))
    connection = op.get_bind()
    dialects = connection.execute(sa.select(_exports.c.csv_dialect).distinct()
                                  .where(_exports.c.format == 'csv')).scalars().all()
    for dialect in dialects:
        connection.execute(sa.update(_exports).where(_exports.c.format == 'csv', _exports.c.csv_dialect == dialect)
                           .values(options={'format': {'dialect': dialect}, 'type': {}}))
    connection.execute(sa.update(_exports).where(_exports.c.format == 'csv', _exports.c.csv_dialect.is_(None))
                       .values(options={'format': {'dialect': 'rfc4180'}, 'type': {}}))
    connection.execute(sa.update(_exports).where(_exports.c.format != 'csv')
                       .values(options={'format': {}, 'type': {}}))
    op.drop_column('exports', 'csv_dialect')


def downgrade() -> None:
    op.add_column('exports', sa.Column('csv_dialect', sa.String(length=16), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_exports.c.id, _exports.c.options).where(_exports.c.format == 'csv')).all()
    for export_id, options in rows:
        dialect = ((options or {}).get('format') or {}).get('dialect') or 'rfc4180'
        connection.execute(sa.update(_exports).where(_exports.c.id == export_id).values(csv_dialect=dialect))
    op.drop_column('exports', 'options')
