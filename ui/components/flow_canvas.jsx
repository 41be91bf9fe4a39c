// The workflow canvas: React Flow owning node positions and selection in the browser.
//
// Python (EditorState) owns the definition and sends `graphNodes`/`graphEdges`; this component
// keeps React Flow's own state so a drag never leaves the browser, and calls back only on
// drag stop, connect, drop, delete, selection change, click and the keyboard shortcuts.
import { createContext, createElement, memo, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  NodeResizer,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useEdgesState,
  useNodesInitialized,
  useNodesState,
  useReactFlow,
} from "@xyflow/react";
import Icon from "lucide-react/dist/esm/Icon.mjs";
import iconImports from "lucide-react/dynamicIconImports.mjs";
import "@xyflow/react/dist/style.css";
import "./flow_canvas.css";

const DRAG_TYPE = "application/x-linkflow-node";
const RunContext = createContext({});
const IconContext = createContext(0);  // bumped when icons finish loading: one re-render for all nodes
const ProblemContext = createContext({});
const StickyContext = createContext(null);  // (id, changes) => void: a sticky note was edited or resized
const NODE_TYPES = { linkflow: memo(LinkFlowNode), sticky: memo(StickyNote) };
const EMPTY = [];
// From LARGE nodes the cards drop their shadows (paint time); from CULL, off-screen nodes are not
// rendered at all (below it, culling costs more per pan frame than drawing every node once).
const LARGE = 150;
const CULL = 1000;

// Lucide icons load lazily, one chunk per icon; a graph's icons load together before its nodes show them.
const iconNodes = new Map();
function loadIcons(names) {
  const missing = [...new Set(names)].filter((n) => !iconNodes.has(n) && iconImports[n]);
  return Promise.all(missing.map((n) => iconImports[n]().then((m) => iconNodes.set(n, m.__iconNode))));
}

function NodeIcon({ name }) {
  useContext(IconContext);
  const node = iconNodes.get(name) || iconNodes.get("box");
  return node ? createElement(Icon, { iconNode: node, size: 22 }) : null;
}

function portTop(index, count) {
  return `${((index + 1) * 100) / (count + 1)}%`;
}

function Ports({ ports, kind, nodeName }) {
  const isTarget = kind === "in";
  const showLabels = ports.length > 1 || (ports[0] && ports[0] !== "main");
  return ports.map((port, i) => (
    <div key={port}>
      <Handle
        id={port}
        type={isTarget ? "target" : "source"}
        position={isTarget ? Position.Left : Position.Right}
        style={{ top: portTop(i, ports.length) }}
        className={`lf-handle lf-handle-${kind} ${port === "error" ? "lf-handle-error" : ""}`}
        data-testid={`port-${kind}-${port}`}
        aria-label={`${nodeName} ${isTarget ? "input" : "output"} ${port}`}
      />
      {showLabels ? (
        <span className={`lf-port-label lf-port-label-${kind}`} style={{ top: portTop(i, ports.length) }}>
          {port}
        </span>
      ) : null}
    </div>
  ));
}

function RunBadge({ run }) {
  if (!run) return null;
  const timing = run.timing ? ` · ${run.timing}` : "";  // optional: the execution detail page sends it
  if (run.status === "succeeded") {
    const label = `${run.items} item${run.items === 1 ? "" : "s"}`;
    return <div className="lf-run-badge lf-run-ok" data-testid="run-badge">✓ {label}{timing}</div>;
  }
  if (run.status === "failed") {
    return (
      <div className="lf-run-badge lf-run-failed" data-testid="run-badge" title={run.error}>
        ✕ {run.error ? run.error.slice(0, 60) : "failed"}{timing}
      </div>
    );
  }
  const tone = run.status === "skipped" ? "lf-run-muted" : "lf-run-other";
  return <div className={`lf-run-badge ${tone}`} data-testid="run-badge">{run.status}{timing}</div>;
}

function LinkFlowNode({ id, data, selected }) {
  const run = useContext(RunContext)[id];
  const problems = useContext(ProblemContext)[id];
  const inputs = data.inputs || EMPTY;
  const outputs = data.outputs || EMPTY;
  const height = Math.max(72, 24 * Math.max(inputs.length, outputs.length) + 24);
  const classes = [
    "lf-node",
    selected ? "lf-selected" : "",
    data.trigger ? "lf-trigger" : "",
    data.disabled ? "lf-disabled" : "",
    run ? `lf-run-${run.status}` : "",
    problems && problems.length ? "lf-invalid" : "",
    data.diff ? `lf-diff lf-diff-${data.diff}` : "",
  ].join(" ");
  return (
    <div className={classes} style={{ minHeight: height }} data-testid="flow-node" data-node-name={data.label}
         data-run-status={run ? run.status : ""} data-diff={data.diff || ""} title={data.diffNote || undefined}>
      <Ports ports={inputs} kind="in" nodeName={data.label} />
      <div className="lf-node-icon">
        <NodeIcon name={data.icon || "box"} />
      </div>
      <div className="lf-node-text">
        <div className="lf-node-name">{data.label}</div>
        {(data.title && !String(data.label || "").startsWith(data.title)) || data.disabled ? (
          <div className="lf-node-type">
            {data.title && !String(data.label || "").startsWith(data.title) ? data.title : ""}
            {data.disabled ? " · disabled" : ""}
          </div>) : null}
      </div>
      {problems && problems.length ? (
        <div className="lf-problem" data-testid="node-problem" title={problems.join("\n")}>!</div>
      ) : null}
      {data.notes ? <div className="lf-note-dot" title={data.notes} /> : null}
      {data.pinned ? <div className="lf-pin-badge" data-testid="pin-badge" title="Output pinned: manual runs use it">pinned</div> : null}
      <Ports ports={outputs} kind="out" nodeName={data.label} />
      <RunBadge run={run} />
    </div>
  );
}

// ---- sticky notes: markdown-ish text (headings, bullets, **bold**, `code`), double-click to edit ----
function inline(text) {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/g).map((part, i) => {
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) return <strong key={i}>{part.slice(2, -2)}</strong>;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return <code key={i}>{part.slice(1, -1)}</code>;
    return part;
  });
}

function Markdownish({ text }) {
  return (text || "").split("\n").map((line, i) => {
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    if (heading) return <div key={i} className={`lf-sticky-h${heading[1].length}`}>{inline(heading[2])}</div>;
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    if (bullet) return <div key={i} className="lf-sticky-li">• {inline(bullet[1])}</div>;
    return line.trim() ? <div key={i}>{inline(line)}</div> : <div key={i} className="lf-sticky-gap" />;
  });
}

function StickyNote({ id, data, selected }) {
  const onChange = useContext(StickyContext);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(data.text || "");
  useEffect(() => { if (!editing) setDraft(data.text || ""); }, [data.text, editing]);
  const finish = () => {
    setEditing(false);
    if (onChange && draft !== data.text) onChange(id, { text: draft });
  };
  const onResizeEnd = (_event, box) => {
    if (onChange) onChange(id, { width: box.width, height: box.height, x: box.x, y: box.y });
  };
  return (
    <div className={`lf-sticky lf-sticky-${data.color || "yellow"} ${selected ? "lf-selected" : ""}`}
         data-testid="sticky-note" onDoubleClick={() => { if (onChange) setEditing(true); }}>
      <NodeResizer isVisible={selected && !!onChange} minWidth={80} minHeight={60} onResizeEnd={onResizeEnd} />
      {editing ? (
        <textarea className="lf-sticky-edit nodrag nowheel" autoFocus value={draft} aria-label="Sticky note text"
                  onChange={(e) => setDraft(e.target.value)} onBlur={finish}
                  onKeyDown={(e) => { if (e.key === "Escape") { e.stopPropagation(); finish(); } }} />
      ) : (
        <div className="lf-sticky-text"><Markdownish text={data.text} /></div>
      )}
    </div>
  );
}

function isTyping(event) {
  const el = event.target;
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function Canvas(props) {
  const {
    graphNodes, graphEdges, runs, problems, revision, dirty,
    onNodesMoved, onConnectPorts, onDropNode, onDeleteItems, onSelectionChanged,
    onNodeOpen, onPaneClicked, onUndo, onRedo, onCopyNodes, onPasteNodes, onSave, readOnly,
    onStickyChanged, onRun,
  } = props;
  const [nodes, setNodes, onNodesChange] = useNodesState([]);
  const [iconsLoaded, setIconsLoaded] = useState(0);
  const [edges, setEdges, onEdgesChange] = useEdgesState([]);
  const flow = useReactFlow();
  const wrapper = useRef(null);
  const pointer = useRef(null);
  const lastSelection = useRef("");

  useEffect(() => {
    const names = ["box", ...(graphNodes || EMPTY).map((n) => (n.data && n.data.icon) || "box")];
    let live = true;
    loadIcons(names).then((loaded) => { if (live && loaded.length) setIconsLoaded((v) => v + 1); });
    return () => { live = false; };
  }, [graphNodes]);

  // Python's graph is the truth for everything but a drag in progress and the selection.
  useEffect(() => {
    setNodes((previous) => {
      const old = new Map(previous.map((n) => [n.id, n]));
      return (graphNodes || EMPTY).map((n) => {
        const local = old.get(n.id);
        return {
          ...n,
          selected: local ? !!local.selected : !!n.selected,
          position: local && local.dragging ? local.position : n.position,
        };
      });
    });
  }, [graphNodes, setNodes]);

  useEffect(() => {
    setEdges((previous) => {
      const selected = new Set(previous.filter((e) => e.selected).map((e) => e.id));
      return (graphEdges || EMPTY).map((e) => ({ ...e, selected: selected.has(e.id) }));
    });
  }, [graphEdges, setEdges]);

  // A newly loaded graph (revision bump) is fitted once React Flow has measured its nodes.
  const initialized = useNodesInitialized();
  const fittedRevision = useRef(0);
  const [fitted, setFitted] = useState(0);  // the revision last fitted: data-ready for tests and the bench
  useEffect(() => {
    if (!revision || fittedRevision.current === revision) return;
    if ((graphNodes || EMPTY).length && !initialized) return;
    fittedRevision.current = revision;
    if ((graphNodes || EMPTY).length) flow.fitView({ padding: 0.2, maxZoom: 1.1 });
    requestAnimationFrame(() => setFitted(revision));
  }, [revision, initialized, flow, graphNodes]);
  const large = nodes.length > LARGE;

  // Palette items are plain HTML rendered by Reflex: give their drags our payload.
  useEffect(() => {
    const onDragStart = (event) => {
      const item = event.target.closest && event.target.closest("[data-node-type]");
      if (!item || !event.dataTransfer) return;
      event.dataTransfer.setData(DRAG_TYPE, item.getAttribute("data-node-type"));
      event.dataTransfer.effectAllowed = "copy";
    };
    document.addEventListener("dragstart", onDragStart);
    return () => document.removeEventListener("dragstart", onDragStart);
  }, []);

  const pasteAt = useCallback(() => {
    const rect = wrapper.current ? wrapper.current.getBoundingClientRect() : null;
    const screen = pointer.current || (rect ? { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 } : null);
    return screen ? flow.screenToFlowPosition(screen) : { x: 0, y: 0 };
  }, [flow]);

  useEffect(() => {
    if (!dirty) return;
    const warn = (event) => { event.preventDefault(); event.returnValue = ""; };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  useEffect(() => {
    const onKey = (event) => {
      if (event.key === "Escape") {  // first leave the field being typed in, then close the panel
        if (isTyping(event)) event.target.blur();
        else if (onPaneClicked) onPaneClicked();
        return;
      }
      if (event.key === "Tab" && !readOnly && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey) {
        // Tab on the canvas opens the node creator (the palette's search); Enter there adds the first match
        // after the selected node. Tab anywhere else keeps moving the focus as usual.
        const active = document.activeElement;
        const onCanvas = !active || active === document.body || (active.closest && active.closest(".react-flow"));
        const search = document.querySelector('input[aria-label="Search nodes"]');
        if (onCanvas && search) { event.preventDefault(); search.focus(); search.select(); }
        return;
      }
      if (!(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === "enter" && onRun && !readOnly) {  // like Ctrl+S: leave the field first so its text reaches Python
        event.preventDefault();
        if (isTyping(event)) event.target.blur();
        setTimeout(onRun, 0);
        return;
      }
      if (key === "s" && onSave) {  // typed text reaches Python on blur: leave the field first
        event.preventDefault();
        if (isTyping(event)) event.target.blur();
        setTimeout(onSave, 0);
        return;
      }
      if (isTyping(event)) return;
      if (key === "z" && !event.shiftKey && onUndo) { event.preventDefault(); onUndo(); }
      else if (((key === "z" && event.shiftKey) || key === "y") && onRedo) { event.preventDefault(); onRedo(); }
      else if (key === "c" && onCopyNodes) {
        const ids = flow.getNodes().filter((n) => n.selected).map((n) => n.id);
        if (ids.length) { event.preventDefault(); onCopyNodes(ids); }
      } else if (key === "v" && onPasteNodes) {
        event.preventDefault();
        const at = pasteAt();
        const fallback = () => onPasteNodes("", at.x, at.y);
        if (navigator.clipboard && navigator.clipboard.readText) {
          navigator.clipboard.readText().then((text) => onPasteNodes(text || "", at.x, at.y), fallback);
        } else fallback();
      } else if (key === "a") {
        event.preventDefault();
        setNodes((ns) => ns.map((n) => ({ ...n, selected: true })));
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [flow, onUndo, onRedo, onCopyNodes, onPasteNodes, onSave, onRun, readOnly, onPaneClicked, pasteAt, setNodes]);

  const onDragOver = useCallback((event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback((event) => {
    event.preventDefault();
    const type = event.dataTransfer.getData(DRAG_TYPE);
    if (!type || !onDropNode) return;
    const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    onDropNode(type, Math.round(at.x - 24), Math.round(at.y - 32));
  }, [flow, onDropNode]);

  const onNodeDragStop = useCallback((_event, _node, moved) => {
    if (!onNodesMoved || !moved) return;
    onNodesMoved(moved.map((n) => ({ id: n.id, x: Math.round(n.position.x), y: Math.round(n.position.y) })));
  }, [onNodesMoved]);

  const onConnect = useCallback((c) => {
    if (onConnectPorts) onConnectPorts(c.source, c.sourceHandle || "main", c.target, c.targetHandle || "main");
  }, [onConnectPorts]);

  const onDelete = useCallback(({ nodes: gone, edges: cut }) => {
    if (onDeleteItems) onDeleteItems(gone.map((n) => n.id), cut.map((e) => e.id));
  }, [onDeleteItems]);

  const onSelectionChange = useCallback(({ nodes: chosen }) => {
    const ids = chosen.map((n) => n.id).sort();
    const key = ids.join(",");
    if (key === lastSelection.current) return;
    lastSelection.current = key;
    if (onSelectionChanged) onSelectionChanged(ids);
  }, [onSelectionChanged]);

  const onNodeClick = useCallback((_event, node) => {
    if (onNodeOpen && node.type !== "sticky" && !(node.data && node.data.diff === "removed")) onNodeOpen(node.id);
  }, [onNodeOpen]);
  const onPaneClick = useCallback(() => { if (onPaneClicked) onPaneClicked(); }, [onPaneClicked]);
  const onMouseMove = useCallback((event) => { pointer.current = { x: event.clientX, y: event.clientY }; }, []);
  const isValidConnection = useCallback((c) => c.source !== c.target, []);

  const runMap = useMemo(() => runs || {}, [runs]);
  const problemMap = useMemo(() => problems || {}, [problems]);

  return (
    <IconContext.Provider value={iconsLoaded}>
    <StickyContext.Provider value={(!readOnly && onStickyChanged) || null}>
    <RunContext.Provider value={runMap}>
      <ProblemContext.Provider value={problemMap}>
        <div className={`lf-canvas ${large ? "lf-large" : ""}`} ref={wrapper} onMouseMove={onMouseMove} data-testid="canvas"
             data-node-count={nodes.length} data-ready={revision > 0 && fitted === revision ? "true" : "false"}>
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onNodeDragStop={onNodeDragStop}
            onConnect={onConnect}
            onDelete={onDelete}
            onSelectionChange={onSelectionChange}
            onNodeClick={onNodeClick}
            onPaneClick={onPaneClick}
            onDrop={readOnly ? undefined : onDrop}
            onDragOver={onDragOver}
            isValidConnection={isValidConnection}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
            multiSelectionKeyCode={["Meta", "Control"]}
            selectionKeyCode="Shift"
            snapToGrid
            snapGrid={[20, 20]}
            minZoom={0.1}
            maxZoom={2}
            defaultEdgeOptions={{ type: "smoothstep", className: "lf-edge" }}
            proOptions={{ hideAttribution: true }}
            onlyRenderVisibleElements={nodes.length > CULL}
          >
            <Background gap={20} size={1.2} />
            <MiniMap pannable zoomable className="lf-minimap" nodeBorderRadius={8} />
            <Controls position="bottom-left" />
          </ReactFlow>
        </div>
      </ProblemContext.Provider>
    </RunContext.Provider>
    </StickyContext.Provider>
    </IconContext.Provider>
  );
}

export function FlowCanvas(props) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}

export default FlowCanvas;
