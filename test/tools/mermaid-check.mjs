// test/tools/mermaid-check.mjs: parse Mermaid text with Mermaid's own parser
// and print what it found, one line each:
//     nodes N / edges N / node ID SHAPE CLASSES / edge FROM TO STROKE / theme T
// Needs the npm packages mermaid and jsdom in the current directory's
// node_modules; run from there with the script on stdin:
//     cd DIR && node --input-type=module - FILE.mmd < test/tools/mermaid-check.mjs
// test/t/009_graph_picture.pl does so when MIGR_MERMAID_DIR names DIR.
import { JSDOM } from 'jsdom';
import fs from 'fs';

const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

const text = fs.readFileSync(process.argv[process.argv.length - 1], 'utf8');
const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
const found = diagram.db.getVertices();
const nodes = found instanceof Map ? [...found.values()] : Object.values(found);
const edges = diagram.db.getEdges();
console.log(`nodes ${nodes.length}`);
console.log(`edges ${edges.length}`);
for (const n of nodes)
  console.log(`node ${n.id} ${n.type} ${n.classes.join(',')}`);
for (const e of edges)
  console.log(`edge ${e.start} ${e.end} ${e.stroke}`);
console.log(`theme ${mermaid.mermaidAPI.getConfig().theme}`);
