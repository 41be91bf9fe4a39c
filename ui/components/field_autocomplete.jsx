// Autocomplete for {{ }} expressions in the node details view's parameter fields.
// `data` (from ui/editor/ndv.py completions) holds the input's field paths with their types, the
// ancestors' paths, $vars names, $execution fields, the function library and methods by type.
// Typing `$json.`, `$node["`, `$node["X"].json.`, `$vars.`, `$execution.`, a value's `.` or a bare
// name inside {{ }} opens a list; arrows choose, Enter or Tab (or a click) accepts, Esc closes.
import { useEffect, useRef, useState } from "react";

const FIELD = "[data-ndv-params] input:not([type=checkbox]), [data-ndv-params] textarea";

function children(paths, parent) {
  const out = [];
  for (const [path, type] of Object.entries(paths || {})) {
    let rest;
    if (!parent) rest = path;
    else if (path.startsWith(parent + ".")) rest = path.slice(parent.length + 1);
    else continue;
    if (!rest || /[.\[]/.test(rest)) continue;
    out.push({ label: rest, insert: rest, detail: type });
  }
  return out;
}

function methods(data, type) {
  return ((data.methods || {})[type] || []).map((m) => ({ label: m + "()", insert: m + "(", detail: "method" }));
}

// The suggestions for the text before the caret: {partial, items} or null.
export function suggest(data, before) {
  const open = before.lastIndexOf("{{");
  if (open < 0 || before.indexOf("}}", open) >= 0) return null;
  const text = before.slice(open + 2);
  let m;
  if ((m = /\$node\[["']([^"']*)$/.exec(text))) {
    return { partial: m[1], items: Object.keys(data.nodes || {}).map((n) => ({ label: n, insert: n + '"].json.', detail: "node" })) };
  }
  if ((m = /\$node\[["']([^"']+)["']\]\.json((?:\.[A-Za-z_]\w*)*)\.(\w*)$/.exec(text))) {
    const paths = (data.nodes || {})[m[1]] || {};
    const parent = m[2].slice(1);
    if (parent && paths[parent] && paths[parent] !== "object") return { partial: m[3], items: methods(data, paths[parent]) };
    return { partial: m[3], items: children(paths, parent) };
  }
  if ((m = /\$json((?:\.[A-Za-z_]\w*)*)\.(\w*)$/.exec(text))) {
    const parent = m[1].slice(1);
    const paths = data.json || {};
    if (parent && paths[parent] && paths[parent] !== "object") return { partial: m[2], items: methods(data, paths[parent]) };
    return { partial: m[2], items: children(paths, parent) };
  }
  if ((m = /\$vars\.(\w*)$/.exec(text))) {
    return { partial: m[1], items: (data.vars || []).map((v) => ({ label: v, insert: v, detail: "variable" })) };
  }
  if ((m = /\$execution\.(\w*)$/.exec(text))) {
    return { partial: m[1], items: (data.execution || []).map((v) => ({ label: v, insert: v, detail: "execution" })) };
  }
  if ((m = /\$workflow\.(\w*)$/.exec(text))) {
    return { partial: m[1], items: (data.workflow || []).map((v) => ({ label: v, insert: v, detail: "workflow" })) };
  }
  if ((m = /(?:^|[\s(,\[+\-*\/%<>=!])([A-Za-z_]\w*)$/.exec(text))) {
    return { partial: m[1], items: (data.functions || []).map((f) => ({ label: f + "()", insert: f + "(", detail: "function" })) };
  }
  return null;
}

function setValue(field, value, caret) {
  const proto = field.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value").set.call(field, value);
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.focus();
  field.setSelectionRange(caret, caret);
}

export function FieldAutocomplete({ data }) {
  const [menu, setMenu] = useState(null); // {field, partial, items, index, left, top}
  const menuRef = useRef(null);
  menuRef.current = menu;
  const dataRef = useRef(data);
  dataRef.current = data;

  const accept = (state, item) => {
    const field = state.field;
    const caret = field.selectionStart ?? field.value.length;
    const start = caret - state.partial.length;
    const value = field.value.slice(0, start) + item.insert + field.value.slice(caret);
    setMenu(null);
    setValue(field, value, start + item.insert.length);
  };

  useEffect(() => {
    const update = (event) => {
      const field = event.target instanceof Element ? event.target.closest(FIELD) : null;
      if (!field || field !== event.target) return;
      const caret = field.selectionStart ?? field.value.length;
      const found = suggest(dataRef.current || {}, field.value.slice(0, caret));
      const items = found ? found.items.filter((i) => i.label.toLowerCase().startsWith(found.partial.toLowerCase())
        && i.insert !== found.partial).slice(0, 50) : [];
      if (!items.length) { setMenu(null); return; }
      const box = field.getBoundingClientRect();
      setMenu({ field, partial: found.partial, items, index: 0, left: box.left, top: box.bottom + 2, width: box.width });
    };
    const keys = (event) => {
      const state = menuRef.current;
      if (!state || event.target !== state.field) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setMenu({ ...state, index: (state.index + step + state.items.length) % state.items.length });
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        accept(state, state.items[state.index]);
      } else if (event.key === "Escape") {
        event.stopPropagation();
        setMenu(null);
      }
    };
    const blur = (event) => {
      const state = menuRef.current;
      if (state && event.target === state.field) setTimeout(() => setMenu(null), 150);
    };
    document.addEventListener("input", update, true);
    document.addEventListener("keydown", keys, true);
    document.addEventListener("blur", blur, true);
    return () => {
      document.removeEventListener("input", update, true);
      document.removeEventListener("keydown", keys, true);
      document.removeEventListener("blur", blur, true);
    };
  }, []);

  if (!menu) return null;
  return (
    <div role="listbox" aria-label="Expression suggestions"
      style={{ position: "fixed", left: menu.left, top: menu.top, minWidth: Math.min(menu.width, 320), maxHeight: 240,
        overflowY: "auto", zIndex: 1000, background: "var(--color-panel-solid, #fff)", border: "1px solid var(--gray-6)",
        borderRadius: 8, boxShadow: "0 6px 20px rgba(16,24,40,0.16)", padding: 4, fontSize: 12 }}>
      {menu.items.map((item, i) => (
        <div key={item.label} role="option" aria-selected={i === menu.index}
          onMouseDown={(event) => { event.preventDefault(); accept(menu, item); }}
          style={{ display: "flex", justifyContent: "space-between", gap: 12, padding: "4px 8px", borderRadius: 4,
            cursor: "pointer", fontFamily: "var(--code-font-family)",
            background: i === menu.index ? "var(--accent-4)" : "transparent" }}>
          <span>{item.label}</span>
          <span style={{ color: "var(--gray-10)" }}>{item.detail}</span>
        </div>
      ))}
    </div>
  );
}

export default FieldAutocomplete;
