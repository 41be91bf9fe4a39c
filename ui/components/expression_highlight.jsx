// Syntax highlighting for value fields in expression mode (the text holds {{ }}): a layer with the
// coloured tokens (expression_tokens.js) lies exactly over the field, which keeps its caret,
// selection and events but draws its own text transparent. Mounted next to its field inside a
// position:relative box; it follows the field's typing, scrolling and size.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { tokenize } from "./expression_tokens.js";

const COLORS = {
  text: "var(--gray-12)",
  code: "var(--gray-12)",
  brace: "var(--gray-10)",
  unclosed: "var(--red-11)",
  variable: "var(--violet-11)",
  string: "var(--green-11)",
  number: "var(--orange-11)",
  function: "var(--blue-11)",
  keyword: "var(--crimson-11)",
};

const COPIED = ["fontFamily", "fontSize", "fontWeight", "fontStyle", "lineHeight", "letterSpacing", "wordSpacing",
  "textIndent", "textTransform", "tabSize", "paddingTop", "paddingRight", "paddingBottom", "paddingLeft",
  "whiteSpace", "overflowWrap", "wordBreak", "textAlign"];

export function ExpressionHighlight({ value }) {
  const layer = useRef(null);
  const [text, setText] = useState(value || "");
  const [box, setBox] = useState(null);

  const field = () => layer.current && layer.current.parentElement.querySelector("textarea, input:not([type=checkbox])");

  const measure = () => {
    const el = field();
    if (!el || !layer.current) return;
    const style = getComputedStyle(el);
    const outer = layer.current.parentElement.getBoundingClientRect();
    const rect = el.getBoundingClientRect();
    const copied = {};
    for (const key of COPIED) copied[key] = style[key];
    if (el.tagName === "INPUT") copied.whiteSpace = "pre";
    setBox({ ...copied, left: rect.left - outer.left + el.clientLeft, top: rect.top - outer.top + el.clientTop,
      width: el.clientWidth, height: el.clientHeight });
  };

  useEffect(() => {
    const el = field();
    if (!el) return undefined;
    const sync = () => {
      if (layer.current) { layer.current.scrollTop = el.scrollTop; layer.current.scrollLeft = el.scrollLeft; }
    };
    const onInput = () => { setText(el.value); measure(); requestAnimationFrame(sync); };
    const resize = new ResizeObserver(measure);
    resize.observe(el);
    el.addEventListener("input", onInput);
    el.addEventListener("scroll", sync);
    el.addEventListener("keyup", sync);
    measure();
    return () => {
      resize.disconnect();
      el.removeEventListener("input", onInput);
      el.removeEventListener("scroll", sync);
      el.removeEventListener("keyup", sync);
      el.style.color = "";
      el.style.webkitTextFillColor = "";
    };
  }, []);

  // A value set by the state (not typed) arrives as the prop; the field shows it too.
  useEffect(() => { const el = field(); setText(el ? el.value : value || ""); measure(); }, [value]);

  const active = text.includes("{{");
  useLayoutEffect(() => {
    const el = field();
    if (!el) return;
    el.style.color = active ? "transparent" : "";
    el.style.webkitTextFillColor = active ? "transparent" : "";
    el.style.caretColor = active ? "var(--gray-12)" : "";
    if (active && layer.current) { layer.current.scrollTop = el.scrollTop; layer.current.scrollLeft = el.scrollLeft; }
  }, [active, text, box]);

  if (!active || !box) return <div ref={layer} hidden data-expression-highlight="off" />;
  return (
    <div ref={layer} aria-hidden="true" data-expression-highlight="on"
      style={{ ...box, position: "absolute", margin: 0, border: 0, overflow: "hidden", pointerEvents: "none",
        boxSizing: "border-box", zIndex: 1, background: "transparent" }}>
      {tokenize(text).map((token, i) => (
        <span key={i} data-token={token.type}
          style={{ color: COLORS[token.type] || COLORS.code,
            fontWeight: token.type === "brace" || token.type === "unclosed" ? 600 : undefined,
            textDecoration: token.type === "unclosed" ? "underline wavy var(--red-9)" : undefined }}>
          {token.text}
        </span>
      ))}
      {text.endsWith("\n") ? " " : null}
    </div>
  );
}

export default ExpressionHighlight;
