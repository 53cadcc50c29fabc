const D = "/work/wt/coldstart/dist/";
const list = process.argv.slice(2);
let t = performance.now(); const out = [];
for (const m of list) { await import(m.startsWith("@") ? D + m.slice(1) : m); const n = performance.now(); out.push(`${m}=${(n - t).toFixed(1)}`); t = n; }
console.log(out.join(" "));
