"""inspect's lines on a file's data contract: what it takes and how raw values become its input."""

from __future__ import annotations

from typing import Any

import click

from edgeseq.data import spec_of_manifest
from edgeseq.errors import EdgeseqError


def echo_data_contract(embedded: dict[str, Any] | None, manifest: dict[str, Any] | None) -> None:
    """The data contract: what the file takes and how raw values become its input (from the file itself where it
    carries it: a file copied alone still says so)."""
    source = embedded if embedded and embedded.get("normalisation") else manifest
    if not source:
        return
    try:
        spec = spec_of_manifest(source)
    except EdgeseqError as err:
        click.echo(f"data: unreadable contract ({err})")
        return
    labels = ", ".join(spec.labels[:12]) + (f", ... ({spec.classes})" if spec.classes > 12 else "")
    click.echo(f"data: {spec.describe()}; labels {labels}")
    norm = spec.normalisation.to_dict(spec.timesteps, spec.features)
    if "mean" in norm:
        click.echo(f"normalisation: {norm['formula']}; mean {[round(v, 6) for v in norm['mean']]},"
                   f" std {[round(v, 6) for v in norm['std']]}")
    else:
        click.echo(f"normalisation: {norm['input']}")
    click.echo(f"lengths: {spec.lengths_rule()}")
