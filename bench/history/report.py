"""The history benchmark's figures as Markdown."""

from __future__ import annotations

from typing import Any

BUDGETS_MS = {"list": 50.0, "open": 100.0, "restore": 100.0}


def render(results: dict[str, Any]) -> str:
    """The report: where and when, the timings against their budgets, the disk use."""
    seed, disk = results["seed"], results["disk"]
    lines = [
        "# Version history: budgets",
        "",
        "Made by `bench/history_budgets.py` (its docstring gives the method in full).",
        "",
        f"- Date: {results['date']}; commit `{results['commit']}`",
        f"- Machine: {results['machine']}",
        f"- Load average (1, 5, 15 min) before: {_load(results['load_before'])}; "
        f"after: {_load(results['load_after'])}",
        f"- The long note: {seed['updates']:,} logged updates by a few authors over "
        f"{_days(seed)} days, {seed['text_bytes']:,} bytes of text, {seed['versions']:,} "
        f"versions, {seed['checkpoints']:,} checkpoints; the database holding it: "
        f"{seed['used_bytes']:,} bytes",
        f"- Budgets: {_verdict(results['timings'])}",
        "",
        "## Method",
        "",
        "The long note is written before the server starts, through the server's own store "
        "(`SqlDocumentStore.append`), with the store's clock set to when each burst of "
        "keystrokes was typed: sessions of typing words, backspaces, pastes and cut "
        "selections by four authors, pauses from seconds to a weekend, so versions and "
        "checkpoints form by the server's rules (checkpoints every 1,000 updates and after "
        "30 s of quiet). Then `collab-notes serve --durability full` runs on it and each "
        "request is sent over HTTP from the same machine, one warm-up first. Restores "
        "alternate between two versions, so each one changes the note.",
        "",
        "## Timings (ms, wall time of a request on localhost)",
        "",
        "| request | what | p50 | p95 | max | n | budget | met (p95) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for timing in results["timings"]:
        budget = _budget(timing["what"])
        met = "" if budget is None else ("yes" if timing["p95"] < budget else "**no**")
        lines.append(
            f"| {timing['what']} | {timing['detail']} | {timing['p50']:.1f} | "
            f"{timing['p95']:.1f} | {timing['worst']:.1f} | {len(timing['samples_ms'])} | "
            f"{'' if budget is None else f'< {budget:.0f}'} | {met} |"
        )
    lines += _notes(results)
    per_10k = 10_000 / disk["keystrokes"]
    long_10k = 10_000 / seed["updates"]
    lines += [
        "",
        "## Disk use with history on",
        "",
        f"{disk['keystrokes']:,} keystrokes typed over the websocket, one committed update "
        f"each ({disk['keystrokes'] / disk['typing_s']:.0f} a second), into a new note; the "
        "database measured before and after, with the server stopped and the WAL folded in.",
        "",
        "The long note's figures are its whole database over its logged updates: there, "
        "every pause of 30 s wrote a checkpoint of the whole note.",
        "",
        "| per 10,000 keystrokes (logged updates) | typed into a new note | the long note |",
        "| --- | ---: | ---: |",
        _row(
            "database (pages in use)",
            disk["grown_used_bytes"] * per_10k,
            seed["used_bytes"] * long_10k,
        ),
        _row("database file", disk["grown_bytes"] * per_10k, seed["file_bytes"] * long_10k),
        _row(
            "of which logged update data",
            disk["log_data_bytes"] * per_10k,
            seed["log_data_bytes"] * long_10k,
        ),
        _row(
            "of which checkpoint data",
            disk["checkpoint_data_bytes"] * per_10k,
            seed["checkpoint_data_bytes"] * long_10k,
        ),
        _row(
            "net text written (UTF-8)", disk["text_bytes"] * per_10k, seed["text_bytes"] * long_10k
        ),
        _row("checkpoints", disk["checkpoints"] * per_10k, seed["checkpoints"] * long_10k),
        "",
        f"Log rows: {disk['log_rows']:,}; checkpoints: {disk['checkpoints']}; versions: "
        f"{disk['versions']}.",
        "",
    ]
    if disk["tables"]:
        lines += ["Growth by table and index (SQLite's dbstat), per 10,000 keystrokes:", ""]
        lines += ["| table or index | bytes |", "| --- | ---: |"]
        for name, size in sorted(disk["tables"].items(), key=lambda item: -item[1]):
            lines.append(f"| `{name}` | {size * per_10k:,.0f} |")
        lines.append("")
    if seed["tables"]:
        lines += ["The long note's database, its largest tables and indexes:", ""]
        lines += ["| table or index | bytes |", "| --- | ---: |"]
        for name, size in sorted(seed["tables"].items(), key=lambda item: -item[1])[:6]:
            lines.append(f"| `{name}` | {size:,} |")
        lines.append("")
    return "\n".join(lines)


def _budget(what: str) -> float | None:
    return BUDGETS_MS.get(what.split(" ")[0].rstrip(":"))


def _load(load: list[float] | tuple[float, ...]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


def _days(seed: dict[str, Any]) -> str:
    started, ended = seed["started_at"], seed["ended_at"]
    return f"{(ended - started).total_seconds() / 86400:.0f}"


def _notes(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "The server logs no duration for a restore, so its row is the request's wall time: "
        "an upper bound of the server's time (`/healthz` shows what HTTP on localhost adds).",
    ]
    if results["restore_profile"]:
        lines += [
            "",
            "Where the server's time went in restores a week back (run again after the "
            "timed ones, under py-spy: 200 samples a second, every thread, one warm-up "
            "restore included), per restore:",
            "",
            "| stage | ms |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {ms:.1f} |" for name, ms in results["restore_profile"]]
    else:
        lines += ["", "(py-spy is not installed: no profile of the restores.)"]
    return lines


def _verdict(timings: list[dict[str, Any]]) -> str:
    missed = [
        f"{t['what']} (p95 {t['p95']:.0f} ms, budget {budget:.0f} ms)"
        for t in timings
        if (budget := _budget(t["what"])) is not None and t["p95"] >= budget
    ]
    return "every one met at p95" if not missed else "**missed**: " + "; ".join(missed)


def _row(label: str, typed: float, long: float) -> str:
    return f"| {label} | {typed:,.0f} | {long:,.0f} |"
