"""`modelport usage`: requests, tokens, replica time and cost, by endpoint or day."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.schemas.usage import GroupBy, UsageReport


def usage(
    ctx: typer.Context,
    start: Annotated[
        datetime | None, typer.Option("--from", help="Start (ISO 8601, UTC); default: 24 h ago.")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="End; default: now.")] = None,
    group_by: Annotated[GroupBy, typer.Option("--group-by", help="Rows per endpoint or day.")] = (
        GroupBy.ENDPOINT
    ),
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    project: Annotated[str | None, typer.Option(help="Server admin: another project.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Usage and cost of your project (hours are whole: --from rounds down, --to up)."""
    with api_client(ctx) as client:
        report = client.usage(start, end, group_by, endpoint, project)
    if as_json:
        render.print_json(report)
    else:
        render.out.print(usage_table(report))


def usage_table(report: UsageReport) -> Table:
    table = Table(title=f"Usage {report.from_} .. {report.to} ({report.currency})")
    for column in (report.group_by.value.upper(), "REQUESTS", "ERRORS", "PROMPT", "COMPLETION",
                   "REPLICA-H", "PLANS", "COST"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("PLANS",) else "right")
    table.columns[0].justify = "left"
    for row in report.rows:
        plans = ", ".join(f"{p.plan} @{p.price_per_hour:g}/h" for p in row.plans) or "-"
        table.add_row(
            row.key, str(row.requests), str(row.errors), str(row.prompt_tokens),
            str(row.completion_tokens), f"{row.replica_seconds / 3600:.2f}", plans,
            f"{row.cost:.2f}",
        )  # fmt: skip
    totals = report.totals
    table.add_row(
        "TOTAL", str(totals.requests), str(totals.errors), str(totals.prompt_tokens),
        str(totals.completion_tokens), f"{totals.replica_seconds / 3600:.2f}", "",
        f"{totals.cost:.2f}", style="bold",
    )  # fmt: skip
    return table
