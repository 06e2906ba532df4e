package report

import "html/template"

// pageTemplate is the whole document. html/template escapes every value
// for its context; the only values passed as they are are the img src
// attributes with the PNG data URLs, which the package builds itself
// (figure.Src).
var pageTemplate = template.Must(template.New("report").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root {
  --fg: #1f2430; --muted: #5b6270; --line: #dde1e7; --bg: #ffffff; --panel: #f6f7f9;
  --accent: #1f4e8c; --ok: #1a7f37; --ok-bg: #dcf3e3; --bad: #b42318; --bad-bg: #fde3e1;
  --warn: #8a5a00; --warn-bg: #fff1cc; --kept: #344054; --kept-bg: #e7ebf1; --dry: #5b6270; --dry-bg: #eef0f3;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 24px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 28px 0 8px; }
h4 { font-size: 14px; margin: 20px 0 6px; }
p { margin: 6px 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
.sub { color: var(--muted); }
header .sub { font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 20px 0 8px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .more { font-size: 12.5px; color: var(--muted); }
.notes { background: var(--warn-bg); border: 1px solid #f0d78c; border-radius: 8px; padding: 10px 14px 10px 32px; margin: 16px 0; }
.notes li { margin: 2px 0; }
.notice { background: var(--panel); border-left: 3px solid var(--accent); padding: 8px 12px; margin: 10px 0; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-variant-numeric: tabular-nums; font-size: 13.5px; }
tbody th { text-transform: none; letter-spacing: 0; font-size: 13.5px; color: var(--fg); background: none; font-weight: 500; }
th, td { text-align: left; padding: 5px 7px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; background: var(--panel); }
tbody tr:nth-child(even) td, tbody tr:nth-child(even) th { background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap, td.mono { white-space: nowrap; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { margin: 0; }
.scroll th { position: sticky; top: 0; z-index: 1; }
table.kv { width: auto; min-width: 420px; }
table.kv th { width: 220px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.kept { color: var(--kept); background: var(--kept-bg); }
.badge.dry, .badge.other { color: var(--dry); background: var(--dry-bg); }
.model { margin-top: 36px; }
.model > h2 { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.model > h2 .sub { font-size: 14px; font-weight: 400; }
.reason { font-size: 15px; margin: 4px 0 12px; }
.split { display: grid; grid-template-columns: minmax(300px, 1fr) minmax(0, 620px); gap: 20px; align-items: start; }
@media (max-width: 980px) { .split { grid-template-columns: 1fr; } }
td.better { font-weight: 700; color: var(--ok); }
figure { margin: 8px 0 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
.series { border-top: 1px dashed var(--line); margin-top: 22px; padding-top: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; font-size: 13px; color: var(--muted); margin: 2px 0 6px; }
.facts b { color: var(--fg); font-weight: 600; }
.warn-text { color: var(--warn); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { .scroll { max-height: none; overflow: visible; } main { max-width: none; } .model { break-before: page; } }
</style>
</head>
<body>
<main>
<header>
<h1>{{.Title}}</h1>
<div class="sub">{{.Started}} → {{.Finished}} UTC · {{.Duration}} · source: {{.Source}}</div>
</header>

<section class="cards" aria-label="Summary">
{{range .Cards}}<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div><div class="more">{{.Sub}}</div></div>
{{end}}</section>

{{if .Notes}}<ul class="notes" aria-label="Notes">
{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>{{end}}

<h2 id="models">Models</h2>
{{if .Models}}<div class="scroll"><table>
<thead><tr><th>Model</th><th>Version</th><th>Decision</th><th class="num">Series</th><th class="num">Champion MAE</th><th class="num">Challenger MAE</th><th>Reason</th></tr></thead>
<tbody>
{{range .Models}}<tr><td class="nowrap"><a href="#{{.Anchor}}">{{.Name}}</a></td><td class="nowrap">{{.Version}}</td><td><span class="badge {{.Class}}">{{.Decision}}</span></td><td class="num">{{.NSeriesN}}</td>{{with .Metrics}}{{with index . 0}}<td class="num">{{.Champion}}</td><td class="num">{{.Challenger}}</td>{{end}}{{else}}<td class="num">—</td><td class="num">—</td>{{end}}<td>{{.Reason}}</td></tr>
{{end}}</tbody></table></div>
{{else}}<p class="empty">No model was trained in this run.</p>{{end}}

<h2 id="series">Series</h2>
{{if .PlotNote}}<p class="notice">{{.PlotNote}}</p>{{end}}
{{if .Series}}<div class="scroll"><table>
<thead><tr><th>Series</th><th>Model</th><th class="num">Readings</th><th class="num">Used</th><th>Excluded</th><th>Data</th><th class="num">Val MAE</th><th class="num">Flagged</th><th>Figure</th></tr></thead>
<tbody>
{{range .Series}}<tr><td class="mono">{{if .Plotted}}<a href="#{{.Anchor}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td class="nowrap"><a href="#{{.ModelAnchor}}">{{.Model}}</a></td><td class="num">{{.Readings}}</td><td class="num">{{.Used}} <span class="sub">({{.UsedPct}})</span></td><td class="nowrap">{{.Excluded}}</td><td class="nowrap">{{.Range}}</td><td class="num">{{.ValMAE}}</td><td class="num">{{.Flagged}}</td><td class="nowrap">{{if .Plotted}}<a href="#{{.Anchor}}">view</a>{{else if .NoData}}<span class="empty" title="no validation data">no data</span>{{else}}<span class="sub" title="in the table only (see the note above)">—</span>{{end}}</td></tr>
{{end}}</tbody></table></div>
{{else}}<p class="empty">No series was trained in this run.</p>{{end}}

{{if .Skipped}}<h2 id="skipped">Skipped series</h2>
<div class="scroll"><table>
<thead><tr><th>Series</th><th>Reason</th></tr></thead>
<tbody>
{{range .Skipped}}<tr><td class="mono">{{.ID}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table></div>{{end}}

{{if .Settings}}<h2 id="settings">Settings</h2>
<table class="kv"><tbody>
{{range .Settings}}<tr><th scope="row">{{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}</tbody></table>{{end}}

{{range .Models}}<section class="model" id="{{.Anchor}}">
<h2>{{.Name}} <span class="badge {{.Class}}">{{.Decision}}</span> <span class="sub">{{.Version}} · {{.NSeries}} · trained in {{.Duration}}</span></h2>
{{if .Reason}}<p class="reason">{{.Reason}}</p>{{end}}
<div class="split">
<div>
{{if .Metrics}}<table>
<thead><tr><th></th><th class="num">Champion</th><th class="num">Challenger</th><th class="num">Change</th></tr></thead>
<tbody>
{{range .Metrics}}<tr><th scope="row">{{.Label}}</th><td class="num{{if .ChampionBetter}} better{{end}}">{{.Champion}}</td><td class="num{{if .ChallengerBetter}} better{{end}}">{{.Challenger}}</td><td class="num">{{.Delta}}</td></tr>
{{end}}</tbody></table>
<p class="sub">Lower is better for every figure; the better value is in bold green.</p>
{{else}}<p class="empty">No champion or challenger figures.</p>{{end}}
<p class="sub">Epochs run: {{.Epochs}} · best epoch: {{.BestEpoch}}</p>
</div>
<div>
{{if .Loss}}<figure><img {{.Loss.Src}} width="{{.Loss.Width}}" height="{{.Loss.Height}}" alt="{{.Loss.Alt}}"><figcaption>Loss per epoch: mean squared error in scaled units{{if .LogLoss}}, logarithmic scale{{end}}. The weights of the best epoch are kept.</figcaption></figure>
{{else}}{{if .LossNote}}<p class="notice">{{.LossNote}}</p>{{else}}<p class="empty">No loss curve recorded.</p>{{end}}{{end}}
</div>
</div>
{{if .Spans}}<h4>Excluded spans</h4>
<div class="scroll"><table>
<thead><tr><th>Series</th><th>From</th><th>To</th><th class="num">Readings</th><th>Why</th></tr></thead>
<tbody>
{{range .Spans}}<tr><td class="mono">{{.Series}}</td><td class="nowrap">{{.From}}</td><td class="nowrap">{{.To}}</td><td class="num">{{.Readings}}</td><td>{{.Why}}</td></tr>
{{end}}</tbody></table></div>{{end}}
{{range .Details}}<div class="series" id="{{.Anchor}}">
<h3 class="mono">{{.ID}}</h3>
<div class="facts">{{range .Facts}}<span>{{.Key}}: <b>{{.Value}}</b></span>{{end}}</div>
{{range .Dropped}}<p class="warn-text">Left out of the figure, its length does not match the times: {{.}}.</p>
{{end}}{{with .Figure}}<figure><img {{.Src}} width="{{.Width}}" height="{{.Height}}" alt="{{.Alt}}"></figure>{{end}}
</div>
{{end}}{{if .NoData}}<p class="empty">No validation data: {{range $i, $id := .NoData}}{{if $i}}, {{end}}<span class="mono">{{$id}}</span>{{end}}.</p>{{end}}
{{if .NotPlotted}}<p class="sub">{{.NotPlotted}} more series of this model are in the <a href="#series">series table</a> only.</p>{{end}}
</section>
{{end}}
<footer>Vigil training report · run started {{.Started}} UTC · times in UTC · figures: values above, detector below; red dots are readings the dynamic threshold would have flagged; shaded spans were excluded from training.</footer>
</main>
</body>
</html>
`
