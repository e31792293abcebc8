// The --html report: one self-contained page (inline CSS and SVG, no scripts, no external assets)
// with throughput over time, the latency distribution and the summary. Pure string building.

import type { BenchResult } from '../bench/types.js';
import type { CompareReport } from '../bench/compare.js';
import type { DistributionPoint } from '../bench/latency.js';
import { compareTable, summaryRows, verdictLines } from './bench-report.js';

export type HtmlInput = { kind: 'run'; result: BenchResult } | { kind: 'compare'; report: CompareReport };

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 70, right: 20, top: 20, bottom: 40 };
const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function fmt(value: number): string {
  return value >= 1000 ? `${Math.round(value).toLocaleString('en-US')}` : value >= 10 ? value.toFixed(0) : value.toFixed(2).replace(/\.?0+$/, '');
}

interface Series {
  name: string;
  points: [number, number][];
}

/** A line chart; `xTicks` label positions along x (value -> label). */
function lineChart(title: string, series: Series[], xLabel: string, yLabel: string, xTicks: [number, string][], xMax: number): string {
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1]))));
  const x = (value: number) => PAD.left + (xMax > 0 ? (value / xMax) * innerW : 0);
  const y = (value: number) => PAD.top + innerH - (value / yMax) * innerH;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const value = (yMax * i) / 4;
    parts.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y(value) + 4}" text-anchor="end">${fmt(value)}</text>`);
  }
  for (const [value, label] of xTicks) parts.push(`<text x="${x(value)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escape(label)}</text>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`);
    parts.push(`<text x="${PAD.left + 10 + i * 160}" y="${PAD.top - 6}" fill="${COLOURS[i % COLOURS.length]}">${escape(s.name)}</text>`);
  });
  parts.push(`<text x="${PAD.left + innerW / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${PAD.top + innerH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  return figure(title, parts);
}

function figure(title: string, parts: string[]): string {
  return `<figure><figcaption>${escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-size="11" font-family="sans-serif">${parts.join('')}</svg></figure>`;
}

function barChart(title: string, bars: { label: string; value: number }[], unit: string): string {
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const yMax = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const slot = innerW / Math.max(1, bars.length);
  const parts: string[] = [];
  bars.forEach((bar, i) => {
    const h = (bar.value / yMax) * innerH;
    const x = PAD.left + i * slot + slot * 0.2;
    parts.push(`<rect x="${x}" y="${PAD.top + innerH - h}" width="${slot * 0.6}" height="${h}" fill="${COLOURS[i % COLOURS.length]}"/>`);
    parts.push(`<text x="${x + slot * 0.3}" y="${PAD.top + innerH - h - 4}" text-anchor="middle">${fmt(bar.value)} ${escape(unit)}</text>`);
    parts.push(`<text x="${x + slot * 0.3}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escape(bar.label)}</text>`);
  });
  return figure(title, parts);
}

/** Latency by percentile, x on the "number of nines" scale: 50% -> 0.3, 99% -> 2, 99.9% -> 3. */
function latencyChart(points: DistributionPoint[], corrected: DistributionPoint[] | null): string {
  const nines = (p: number) => (p >= 100 ? 5.3 : -Math.log10(1 - p / 100));
  const toSeries = (name: string, list: DistributionPoint[]): Series => ({ name, points: list.filter((p) => p.percentile > 0).map((p) => [nines(p.percentile), p.ms]) });
  const series = [toSeries('raw', points)];
  if (corrected) series.push(toSeries('corrected', corrected));
  const ticks: [number, string][] = [[nines(50), '50%'], [nines(90), '90%'], [nines(99), '99%'], [nines(99.9), '99.9%'], [nines(99.99), '99.99%'], [nines(99.999), '99.999%'], [5.3, 'max']];
  return lineChart('Latency distribution (ms by percentile)', series, 'percentile', 'ms', ticks, 5.3);
}

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d1d5db;padding:4px 10px;text-align:left}th{background:#f3f4f6}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.5em}.verdict{color:#b91c1c;font-weight:bold}</style>
</head><body><h1>${escape(title)}</h1>
${body}
<p><small>Generated by mqx bench on ${escape(new Date().toISOString())}.</small></p>
</body></html>
`;
}

function runBody(result: BenchResult): string {
  const seconds = result.samples.map((s) => s.t);
  const xMax = Math.max(1, ...seconds);
  const step = Math.max(1, Math.ceil(xMax / 10));
  const ticks: [number, string][] = [];
  for (let t = 0; t <= xMax; t += step) ticks.push([t, `${t}s`]);
  const throughput: Series[] = result.mode === 'conn'
    ? [{ name: 'connections/s', points: result.samples.map((s) => [s.t, s.sent_per_s]) }]
    : [
      ...(result.mode !== 'sub' ? [{ name: 'sent/s', points: result.samples.map((s): [number, number] => [s.t, s.sent_per_s]) }] : []),
      ...(result.mode !== 'pub' ? [{ name: 'received/s', points: result.samples.map((s): [number, number] => [s.t, s.received_per_s]) }] : []),
    ];
  const parts = [table(['metric', 'value'], summaryRows(result))];
  for (const line of verdictLines(result)) parts.push(`<p class="verdict">${escape(line)}</p>`);
  parts.push(lineChart('Throughput over time (messages per second)', throughput, 'seconds', 'per second', ticks, xMax));
  if (result.distribution.length > 0) parts.push(latencyChart(result.distribution, null));
  return parts.join('\n');
}

function compareBody(report: CompareReport): string {
  const t = compareTable(report.rows);
  const parts = [table(t.head, t.rows)];
  if (report.aborted) parts.push(`<p class="verdict">${escape(report.aborted)}</p>`);
  parts.push(barChart('Received messages per second (median)', report.rows.map((r) => ({ label: r.broker, value: r.received_per_s })), '/s'));
  parts.push(barChart('Latency p99 (median, ms)', report.rows.map((r) => ({ label: r.broker, value: r.p99_ms ?? 0 })), 'ms'));
  const series: Series[] = report.rows.map((row) => {
    const first = report.runs.find((run) => run.broker === row.broker);
    return { name: row.broker, points: (first?.result.distribution ?? []).filter((p) => p.percentile > 0).map((p): [number, number] => [p.percentile >= 100 ? 5.3 : -Math.log10(1 - p.percentile / 100), p.ms]) };
  });
  parts.push(lineChart('Latency distribution, first run of each broker (ms by percentile)', series, 'percentile', 'ms',
    [[0.3, '50%'], [1, '90%'], [2, '99%'], [3, '99.9%'], [4, '99.99%'], [5.3, 'max']], 5.3));
  return parts.join('\n');
}

export function renderHtmlReport(input: HtmlInput): string {
  if (input.kind === 'compare') return page('mqx bench compare', compareBody(input.report));
  const r = input.result;
  return page(`mqx bench ${r.mode === 'scenario' ? `scenario ${r.scenario}` : r.mode}: ${r.target}`, runBody(r));
}
