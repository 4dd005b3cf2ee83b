"""inspect's lines on what a file says about itself: its data contract (what it takes and how raw values become its
input), the per-layer mix it was quantized with, and the recipe search that chose it."""

from __future__ import annotations

from typing import Any

import click

from edgeseq.data import spec_of_manifest
from edgeseq.embedded import data_contract
from edgeseq.core.errors import EdgeseqError


def echo_data_contract(embedded: dict[str, Any] | None, manifest: Any) -> None:
    """The data contract: what the file takes and how raw values become its input (from the file itself where it
    carries it: a file copied alone still says so)."""
    carried = bool(embedded and embedded.get("normalisation"))
    if not carried and manifest is None:
        return
    try:
        spec = data_contract(embedded) if carried else spec_of_manifest(manifest)
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


def echo_mix(mix: dict[str, Any] | None) -> None:
    """A file quantized per layer (export --max-loss-pp's mixes): which layers are not int8."""
    if not mix:
        return
    raised = ", ".join(f"{name} {precision}" for name, precision in mix.get("layers", {}).items()) or "none"
    click.echo(f"quantization mix ({mix.get('version')}): every layer {mix.get('base')}; raised: {raised};"
               f" {'integer only' if mix.get('integer_only') else 'NOT integer only (float layers)'}")


def echo_search(search: dict[str, Any] | None) -> None:
    """The recipe search that chose this file (export --max-loss-pp), an attempt a line."""
    if not search:
        return
    judged = search.get("judged_on") or {}
    click.echo(f"search: budget {search['max_loss_pp']:g} pp on {judged.get('test_count')} {judged.get('name')} test"
               f" samples, {'met' if search.get('met') else 'NOT met'}"
               f"{' (proven)' if search.get('proven') else ' (within, not proven on these samples)' if search.get('met') else ''},"
               f" kept attempt {search.get('kept')} of {len(search.get('attempts', []))}")
    for attempt in search.get("attempts", []):
        figures = (f"{attempt['delta_accuracy_pp']:+.2f} pp, CI [{attempt['delta_ci_pp'][0]:+.2f},"
                   f" {attempt['delta_ci_pp'][1]:+.2f}], p50 {attempt.get('p50_us') or 0:.1f} µs"
                   if attempt.get("status") == "ok" else f"{attempt.get('status')}: {attempt.get('reason')}")
        click.echo(f"  attempt {attempt['number']} ({attempt['remedy']}, calibration"
                   f" {attempt.get('calibration_size')}): {figures}")
    for key, which in (("layers_before_raising", "every layer at the base precision"), ("layers_of_kept", "kept")):
        layers = search.get(key)
        if layers:
            clipping = ", ".join(f"{name} {(rate or 0) * 100:.2f} %" for name, rate in layers["clipping"].items())
            flagged = layers.get("clipping_flagged") or []
            click.echo(f"  clipping ({which}) on {layers['measured_on']}: {clipping}"
                       + (f"; the calibration does not cover the test values of {', '.join(flagged)}" if flagged else ""))
