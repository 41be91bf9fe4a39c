// Drag-and-drop mapping in the node details view: dragging an element that carries
// data-map-expr (a field in the input or output pane) onto a text field inside an element with
// data-ndv-params inserts the expression, as if typed: React's onChange sees it and the state
// saves it. Listeners live while the view is mounted.
import { useEffect } from "react";

const TYPE = "application/x-linkflow-expression";

function targetField(node) {
  if (!(node instanceof Element)) return null;
  return node.closest("[data-ndv-params] input:not([type=checkbox]), [data-ndv-params] textarea");
}

function insert(field, text) {
  const focused = document.activeElement === field;
  const start = focused && field.selectionStart != null ? field.selectionStart : field.value.length;
  const end = focused && field.selectionEnd != null ? field.selectionEnd : field.value.length;
  const before = field.value.slice(0, start);
  const glue = before && !/\s$/.test(before) ? " " : "";
  const value = before + glue + text + field.value.slice(end);
  const proto = field.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value").set.call(field, value);
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.focus();
}

export function FieldMapping() {
  useEffect(() => {
    const onStart = (event) => {
      const source = event.target instanceof Element ? event.target.closest("[data-map-expr]") : null;
      if (!source) return;
      const expression = source.getAttribute("data-map-expr");
      event.dataTransfer.setData(TYPE, expression);
      event.dataTransfer.setData("text/plain", expression);
      event.dataTransfer.effectAllowed = "copy";
    };
    const onOver = (event) => {
      const field = targetField(event.target);
      if (!field || !event.dataTransfer.types.includes(TYPE)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      field.setAttribute("data-drop-target", "true");
    };
    const onLeave = (event) => {
      const field = targetField(event.target);
      if (field) field.removeAttribute("data-drop-target");
    };
    const onDrop = (event) => {
      const field = targetField(event.target);
      if (!field || !event.dataTransfer.types.includes(TYPE)) return;
      event.preventDefault();
      field.removeAttribute("data-drop-target");
      insert(field, event.dataTransfer.getData(TYPE));
    };
    document.addEventListener("dragstart", onStart);
    document.addEventListener("dragover", onOver);
    document.addEventListener("dragleave", onLeave);
    document.addEventListener("drop", onDrop);
    return () => {
      document.removeEventListener("dragstart", onStart);
      document.removeEventListener("dragover", onOver);
      document.removeEventListener("dragleave", onLeave);
      document.removeEventListener("drop", onDrop);
    };
  }, []);
  return null;
}

export default FieldMapping;
