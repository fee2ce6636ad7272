"""The search side's data: ``aisle world`` (the catalog, users and labelled queries everything is
built from) and ``aisle index`` (that catalog in the search store the workers query).

Neither needs a broker or a model, so they run on the slim image.
"""

from __future__ import annotations

from pathlib import Path

import click

from aislestream.cli.common import console, settings_from


@click.command()
@click.option("--catalog", type=click.Path(path_type=Path), help="External catalog (CSV/JSONL).")
@click.option("--labels", type=click.Path(path_type=Path), help="Labelled queries (CSV/JSONL).")
@click.option("--backend", type=click.Choice(["tantivy", "sqlite", "elasticsearch"]))
@click.option("--products", "n_products", type=int, help="Synthetic catalog size.")
@click.pass_context
def index(ctx: click.Context, catalog: Path | None, labels: Path | None, backend: str | None,
          n_products: int | None) -> None:
    """Build (or load) the world and index its catalog into the search store."""
    from aislestream.models.world import build_world
    from aislestream.stack.indexing import ensure_indexed
    from aislestream.stack.progress import progress_bar

    settings = settings_from(ctx, world__catalog_path=catalog, world__labels_path=labels,
                             store__backend=backend, world__n_products=n_products)
    world = build_world(settings.world)
    with progress_bar(console) as progress:
        task = progress.add_task("indexing", total=len(world.products))
        store, rebuilt = ensure_indexed(settings, world,
                                        lambda d, t: progress.update(task, completed=d))
        progress.update(task, completed=len(world.products))
    console.print(f"{store.count():,} documents in {settings.store.backend} store at "
                  f"{settings.store_path()} ({'indexed' if rebuilt else 'already up to date'})")


@click.command()
@click.option("--queries", "n_queries", type=int, help="Number of labelled queries.")
@click.option("--products", "n_products", type=int)
@click.option("--out", type=click.Path(path_type=Path),
              help="Export catalog.jsonl + labels.jsonl here.")
@click.pass_context
def world(ctx: click.Context, n_queries: int | None, n_products: int | None,
          out: Path | None) -> None:
    """Show statistics of the world, or export it in the external-catalog format."""
    from rich.table import Table

    from aislestream.models.world import build_world

    settings = settings_from(ctx, world__n_queries=n_queries, world__n_products=n_products)
    w = build_world(settings.world)
    table = Table(title=f"world: {len(w.products):,} products, {len(w.users):,} users")
    for col in ("query type", "queries", "example", "mean relevant"):
        table.add_column(col)
    for qtype, qs in sorted(w.queries_by_type().items()):
        mean_rel = sum(len(q.relevant_ids()) for q in qs) / len(qs)
        table.add_row(qtype, str(len(qs)), qs[0].text, f"{mean_rel:.0f}")
    console.print(table)
    if out is not None:
        catalog, labels = w.export(out)
        console.print(f"wrote {catalog} and {labels}")
