"""`index.html`: a gallery of the run that opens offline (relative paths, inline CSS, no scripts)."""

from __future__ import annotations

import html
from typing import Any


def gallery_html(report: dict[str, Any]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Product shots — {esc(report['video'])}"
             "</title><style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
             "img{max-width:100%;border:1px solid #ddd;background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) "
             "0 0/16px 16px}.row{display:flex;gap:12px;flex-wrap:wrap}.row figure{margin:0;width:220px}"
             "figcaption{font-size:12px;color:#555}section{border-top:1px solid #ccc;margin-top:24px}"
             "</style></head><body>",
             f"<h1>Product shots</h1><p>{esc(report['video'])} · {report['duration_s']:.1f} s · "
             f"{report['sampling']['frames']} frames sampled at {report['sampling']['fps']:g} fps · "
             f"{report['sampling']['shots']} shot(s) · vision: {esc(report['vision']['provider'])} · "
             f"cost ${report['cost_usd']:.4f}</p><p><em>{esc(report['not_generated'])}</em></p>"]
    if report.get("reimagined"):
        parts.append(f"<p><b>{esc(report['reimagined']['note'])}</b></p>")
    for p in report["products"]:
        base = f"products/{p['slug']}/"
        parts.append(f"<section><h2>{esc(p['name'])}</h2><p>{esc(p['description'])}</p>"
                     f"<p><b>Best frame</b> at {p['best_time_s']:.2f} s — {esc(p['reason'])}</p>")
        if not p["ok"]:
            warn = "; ".join(p["cutout"].get("warnings", [])) or p["cutout"].get("error", "")
            parts.append(f"<p><b>Not isolated:</b> {esc(warn)}</p>")
        parts.append("<div class=row>")
        files = [("best.jpg", "best frame")] + ([("cutout.png", f"cut-out ({esc(p['cutout'].get('method', ''))})")]
                                               if p["ok"] else [])
        files += [(s, s.split("/")[-1]) for s in p["files"].get("shots", [])]
        if p.get("reimagined"):
            files.append((p["reimagined"]["file"], "RE-IMAGINED — not the real product"))
        for name, caption in files:
            if name in ("best.jpg",) or p["ok"] or name == "reimagined.png":
                parts.append(f"<figure><a href='{esc(base + name)}'><img src='{esc(base + name)}' loading=lazy></a>"
                             f"<figcaption>{esc(caption)}</figcaption></figure>")
        parts.append("</div></section>")
    parts.append("<section><h2>Candidate frames</h2><div class=row>")
    for c in report["candidates"]:
        parts.append(f"<figure><img src='{esc(c['file'])}' loading=lazy><figcaption>shot {c['shot'] + 1} · "
                     f"{c['time_s']:.2f} s · score {c['score']:.2f}</figcaption></figure>")
    parts.append("</div></section></body></html>")
    return "\n".join(parts)
