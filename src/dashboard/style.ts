/**
 * The dashboard's one stylesheet, served by the app (`style-src 'self'`: no inline CSS to hash).
 * Status colours: READY blue, RUNNING violet, WAITING slate, SUCCESSFUL green, FAILED red,
 * CANCELLED grey, paused and overdue amber.
 */
export const STYLE = `
:root{--bg:#f4f6f9;--fg:#1e293b;--muted:#64748b;--line:#e2e8f0;--card:#fff;--link:#2563eb;
--ok:#15803d;--okbg:#dcfce7;--bad:#b91c1c;--badbg:#fee2e2;--warn:#b45309;--warnbg:#fef3c7;
--info:#1d4ed8;--infobg:#dbeafe;--run:#6d28d9;--runbg:#ede9fe;--idle:#475569;--idlebg:#e2e8f0}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
header.top{background:#0f172a;color:#e2e8f0;display:flex;align-items:center;gap:28px;padding:0 28px;height:54px}
.brand{color:#fff;font-weight:700;font-size:16px;letter-spacing:.2px;display:flex;align-items:center;gap:8px}
.brand:hover{text-decoration:none}
.logo{width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#60a5fa,#a78bfa);display:inline-block}
nav{display:flex;gap:22px;flex:1}
nav a{color:#94a3b8;padding:15px 0;border-bottom:2px solid transparent;font-weight:500}
nav a:hover{color:#fff;text-decoration:none}
nav a.on{color:#fff;border-color:#60a5fa}
header form{margin:0}
header .link{background:none;border:0;color:#94a3b8;font:inherit;cursor:pointer;padding:0}
header .link:hover{color:#fff}
main{max-width:1240px;margin:0 auto;padding:26px 28px 48px}
h1{font-size:21px;margin:0 0 18px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h1 small{font-size:14px;color:var(--muted);font-weight:400}
h2{font-size:15px;margin:0 0 12px;display:flex;align-items:center;gap:8px}
h2 small,.muted{color:var(--muted);font-weight:400}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:20px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.card.flush{padding:0;overflow-x:auto}
.card.flush h2{padding:16px 20px 0}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(124px,1fr));gap:14px;margin-bottom:20px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
.stat b{display:block;font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.stat span{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em;font-weight:600;white-space:nowrap}
.stat.bad b{color:var(--bad)}.stat.warn b{color:var(--warn)}.stat.ok b{color:var(--ok)}
table{width:100%;border-collapse:collapse}
th{text-align:left;font-weight:600;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;padding:10px 12px;border-bottom:1px solid var(--line);white-space:nowrap;background:#f8fafc}
td{padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:middle}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover td{background:#f8fafc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nowrap{white-space:nowrap}
.err{color:var(--bad);max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.zero{color:#cbd5e1}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:11.5px;font-weight:650;letter-spacing:.02em;background:var(--idlebg);color:var(--idle);white-space:nowrap}
.s-READY{background:var(--infobg);color:var(--info)}
.s-RUNNING{background:var(--runbg);color:var(--run)}
.s-SUCCESSFUL,.s-alive,.s-enabled,.s-active{background:var(--okbg);color:var(--ok)}
.s-FAILED,.s-overdue{background:var(--badbg);color:var(--bad)}
.s-paused,.s-WAITING_CALLBACK,.s-requested{background:var(--warnbg);color:var(--warn)}
.btn{display:inline-block;border:1px solid var(--line);background:#fff;color:var(--fg);border-radius:7px;padding:6px 14px;font:inherit;font-weight:550;cursor:pointer;line-height:1.4}
.btn:hover{background:#f1f5f9;text-decoration:none}
.btn.primary{background:#2563eb;border-color:#2563eb;color:#fff}.btn.primary:hover{background:#1d4ed8}
.btn.danger{background:#dc2626;border-color:#dc2626;color:#fff}.btn.danger:hover{background:#b91c1c}
.btn.small{padding:2px 10px;font-size:12.5px}
.actions{display:flex;gap:8px;flex-wrap:wrap;align-items:center}
.actions.bar{margin:-6px 0 18px}
.notice{background:var(--okbg);color:#14532d;border:1px solid #bbf7d0;border-radius:8px;padding:10px 14px;margin:0 0 18px}
.problem{background:var(--badbg);color:#7f1d1d;border:1px solid #fecaca;border-radius:8px;padding:10px 14px;margin:0 0 18px}
dl.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px 24px;margin:0}
dl.grid div{min-width:0}
dt{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;font-weight:600}
dd{margin:2px 0 0;overflow-wrap:anywhere}
pre{background:#0f172a;color:#e2e8f0;padding:14px 16px;border-radius:8px;overflow:auto;max-height:520px;margin:8px 0 0;line-height:1.5}
details{border-top:1px solid var(--line);padding:10px 0}
details:first-of-type{border-top:0}
summary{cursor:pointer;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap;list-style:none}
summary::-webkit-details-marker{display:none}
summary::before{content:"\\25B8";color:var(--muted);width:10px}
details[open]>summary::before{content:"\\25BE"}
form.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;margin-bottom:16px}
label{display:flex;flex-direction:column;gap:4px;font-size:12px;color:var(--muted);font-weight:600}
input[type=text],input[type=password],select{font:inherit;color:var(--fg);padding:6px 10px;border:1px solid #cbd5e1;border-radius:7px;background:#fff;min-width:200px}
.tabs{display:flex;gap:6px;margin-bottom:16px}
.tabs a{padding:6px 14px;border-radius:7px;color:var(--muted);font-weight:600}
.tabs a.on{background:#fff;color:var(--fg);border:1px solid var(--line)}
.pager{display:flex;justify-content:space-between;align-items:center;padding:12px 20px;border-top:1px solid var(--line);color:var(--muted)}
.empty{padding:28px 20px;text-align:center;color:var(--muted)}
.chart{width:100%;height:auto;display:block}
.chart text{fill:#64748b;font-size:11px;font-family:system-ui,sans-serif}
.chart .grid{stroke:#e2e8f0;stroke-width:1}
.bar-ok{fill:#22c55e}.bar-bad{fill:#ef4444}
.legend{display:flex;gap:16px;color:var(--muted);font-size:12.5px;margin-top:6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend .ok{background:#22c55e}.legend .bad{background:#ef4444}
.spark{width:120px;height:24px;display:block}
.center{max-width:420px;margin:72px auto}
.center .card{padding:28px}
.center form{display:flex;flex-direction:column;gap:14px}
.split{display:grid;grid-template-columns:2fr 1fr;gap:20px}
@media (max-width:900px){.split{grid-template-columns:1fr}main{padding:18px 14px}header.top{padding:0 14px;gap:16px}}
tr.me td{background:#eff6ff}
`;

/** Changes with the stylesheet, so a browser never keeps an old copy past a deploy. */
export const STYLE_VERSION = fnv1a(STYLE);

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
