"""Plain HTML views of the API's documents, for people browsing the service. Every value is escaped."""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

_STYLE = """
body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
header{background:#0b4f6c;color:#fff;padding:.8rem 1.2rem}header a{color:#fff}
main{padding:1rem 1.2rem;max-width:1200px}table{border-collapse:collapse;background:#fff;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eef2f5}
.note{background:#fff4ce;border:1px solid #e0c060;padding:.5rem .8rem;margin:.6rem 0}code{font-size:.85rem}
nav a{margin-right:1rem}
"""


def page(title: str, body: str, lang: str = "vi") -> HTMLResponse:
    html = (f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} – planmap</title><style>{_STYLE}</style></head><body>"
            f'<header><strong>planmap</strong> · <nav style="display:inline"><a href="/?f=html">Trang chủ</a>'
            f'<a href="/collections?f=html">Lớp dữ liệu</a><a href="/map">Bản đồ</a>'
            f'<a href="/api?f=html">API</a></nav></header><main><h1>{escape(title)}</h1>{body}</main></body></html>')
    return HTMLResponse(html)


def links_list(links: list[dict]) -> str:
    items = "".join(f'<li><a href="{escape(lk["href"])}">{escape(lk.get("title") or lk["href"])}</a> '
                    f'<code>{escape(lk["rel"])}</code> <code>{escape(lk.get("type", ""))}</code></li>' for lk in links)
    return f"<ul>{items}</ul>"


def value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    return escape(str(value))


def table(columns: list[str], rows: list[list[object]], raw_first: bool = False) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = ""
    for row in rows:
        cells = [(str(v) if (raw_first and i == 0) else value_text(v)) for i, v in enumerate(row)]
        body += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definition_table(doc: dict) -> str:
    rows = [[k, v] for k, v in doc.items() if not isinstance(v, (dict, list))]
    return table(["", ""], rows)
