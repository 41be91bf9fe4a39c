// Splits a parameter value into tokens for the expression editor's syntax highlighting
// (expression_highlight.jsx). Text outside {{ }} is "text"; inside, the braces are "brace", $json,
// $node, $vars, ... are "variable", quoted text "string", numbers "number", a name called with ( a
// "function", Python-like words "keyword", anything else "code". A {{ without its }} is "unclosed".
// Pure (no DOM, no React) so tests can run it in Node.

const KEYWORDS = new Set(["and", "or", "not", "in", "is", "if", "else", "True", "False", "None", "true", "false",
  "null", "undefined"]);

export function tokenize(text) {
  const out = [];
  const push = (type, value) => {
    if (!value) return;
    const last = out[out.length - 1];
    if (last && last.type === type && (type === "text" || type === "code")) last.text += value;
    else out.push({ type, text: value });
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const open = text.indexOf("{{", i);
    if (open < 0) { push("text", text.slice(i)); break; }
    push("text", text.slice(i, open));
    let j = open + 2;
    const inner = [];
    let closed = false;
    let depth = 0; // inner { } (dict literals), as the engine's _template_end counts them
    while (j < n) {
      const c = text[j];
      if (c === "}" && text[j + 1] === "}" && depth === 0) { closed = true; break; }
      if (c === "{") depth += 1;
      else if (c === "}") depth = Math.max(depth - 1, 0);
      if (c === '"' || c === "'" || c === "`") {
        let k = j + 1;
        while (k < n && text[k] !== c) k += text[k] === "\\" ? 2 : 1;
        k = Math.min(k + 1, n);
        inner.push(["string", text.slice(j, k)]);
        j = k;
      } else if (c === "$" && /[A-Za-z_]/.test(text[j + 1] || "")) {
        const m = /^\$[A-Za-z_]\w*/.exec(text.slice(j));
        inner.push(["variable", m[0]]);
        j += m[0].length;
      } else if (/[0-9]/.test(c) && !/[\w$]/.test(text[j - 1] || "")) {
        const m = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(j));
        inner.push(["number", m[0]]);
        j += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_]\w*/.exec(text.slice(j));
        const after = /^\s*\(/.test(text.slice(j + m[0].length));
        inner.push([after ? "function" : KEYWORDS.has(m[0]) ? "keyword" : "code", m[0]]);
        j += m[0].length;
      } else {
        inner.push(["code", c]);
        j += 1;
      }
    }
    push(closed ? "brace" : "unclosed", "{{");
    for (const [type, value] of inner) push(type, value);
    if (closed) { push("brace", "}}"); j += 2; }
    i = j;
  }
  return out;
}

export default tokenize;
