// Unknown-field check for custom resources: the @kubernetes-models validators (compiled from the CRDs'
// OpenAPI schemas) check types, enums and required fields but, like the API server's pruning, let unknown
// fields through. Their TypeScript declarations list every field, so this walks an object along the
// declared types (read with TypeScript's own parser) and reports each key no type declares: a typo such
// as `wieght` fails, as `kubectl apply --validate=strict` would.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export function fieldChecker(modules) {
  const ts = createRequire(path.join(modules, "noop.js"))("typescript");
  const files = new Map();
  const shapes = new Map();

  function parse(file) {
    if (files.has(file)) return files.get(file);
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const info = { imports: new Map(), decls: new Map(), aliases: new Map(), file };
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) && statement.importClause?.namedBindings?.elements) {
        for (const element of statement.importClause.namedBindings.elements) {
          info.imports.set(element.name.text, { spec: statement.moduleSpecifier.text,
                                                 imported: (element.propertyName ?? element.name).text });
        }
      } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        info.decls.set(statement.name.text, statement);
      } else if (ts.isExportDeclaration(statement) && statement.exportClause?.elements) {
        for (const element of statement.exportClause.elements) {
          if (element.propertyName) info.aliases.set(element.name.text, element.propertyName.text);
        }
      }
    }
    files.set(file, info);
    return info;
  }

  function moduleFile(from, spec) {
    const base = spec.startsWith(".") ? path.resolve(path.dirname(from), spec) : path.join(modules, spec);
    const candidate = base.replace(/\.js$/, "") + ".d.ts";
    return existsSync(candidate) ? candidate : null;
  }

  function resolve(file, name) {
    const key = `${file}#${name}`;
    if (shapes.has(key)) return shapes.get(key);
    const info = parse(file);
    const shape = { kind: "pending" };
    shapes.set(key, shape);  // a recursive type refers back to this object
    let resolved = { kind: "any" };
    if (info.decls.has(name)) resolved = fromDecl(info.decls.get(name), file);
    else if (info.aliases.has(name)) resolved = resolve(file, info.aliases.get(name));
    else if (info.imports.has(name)) {
      const target = moduleFile(file, info.imports.get(name).spec);
      if (target) resolved = resolve(target, info.imports.get(name).imported);
    }
    return Object.assign(shape, resolved);
  }

  function fromDecl(decl, file) {
    if (ts.isTypeAliasDeclaration(decl)) return fromType(decl.type, file);
    const object = objectOf(decl.members, file);
    for (const clause of decl.heritageClauses ?? []) {
      for (const type of clause.types) {
        if (type.expression.text === "TypeMeta") {
          object.props.set("apiVersion", { kind: "any" });
          object.props.set("kind", { kind: "any" });
        } else {
          const parent = resolve(file, type.expression.text);
          if (parent.kind === "object") for (const [k, v] of parent.props) object.props.set(k, v);
        }
      }
    }
    return object;
  }

  function objectOf(members, file) {
    const object = { kind: "object", props: new Map(), index: null };
    for (const member of members) {
      if (ts.isPropertySignature(member) && member.type) {
        object.props.set(member.name.text ?? member.name.getText(), fromType(member.type, file));
      } else if (ts.isIndexSignatureDeclaration(member)) {
        object.index = fromType(member.type, file);
      }
    }
    return object;
  }

  function fromType(node, file) {
    if (ts.isParenthesizedTypeNode(node)) return fromType(node.type, file);
    if (ts.isTypeLiteralNode(node)) return objectOf(node.members, file);
    if (ts.isArrayTypeNode(node)) return { kind: "array", item: fromType(node.elementType, file) };
    if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) {
      return { kind: "union", members: node.types.map((t) => fromType(t, file)) };
    }
    if (ts.isTypeReferenceNode(node)) {
      const name = node.typeName.getText();
      if ((name === "Array" || name === "ReadonlyArray") && node.typeArguments?.length === 1) {
        return { kind: "array", item: fromType(node.typeArguments[0], file) };
      }
      if (name === "Record" && node.typeArguments?.length === 2) {
        return { kind: "object", props: new Map(), index: fromType(node.typeArguments[1], file) };
      }
      return resolve(file, name);
    }
    return { kind: "any" };  // string, number, boolean, literals, unknown...
  }

  function flatten(shape) {
    if (shape.kind !== "union") return [shape];
    return shape.members.flatMap(flatten);
  }

  function walk(value, shape, where, errors) {
    const options = flatten(shape);
    if (options.some((o) => o.kind === "any" || o.kind === "pending")) return;
    if (Array.isArray(value)) {
      const items = options.filter((o) => o.kind === "array").map((o) => o.item);
      if (items.length) value.forEach((v, i) => walk(v, { kind: "union", members: items }, `${where}[${i}]`, errors));
      return;
    }
    if (value === null || typeof value !== "object") return;
    const objects = options.filter((o) => o.kind === "object");
    // an object type that declares nothing is free-form (x-kubernetes-preserve-unknown-fields, e.g. JSON)
    if (!objects.length || objects.some((o) => !o.props.size && !o.index)) return;
    for (const [key, child] of Object.entries(value)) {
      const known = objects.map((o) => o.props.get(key) ?? o.index).filter(Boolean);
      if (!known.length) errors.push(`unknown field ${where ? where + "." : ""}${key}`);
      else walk(child, { kind: "union", members: known }, where ? `${where}.${key}` : key, errors);
    }
  }

  return function unknownFields(modelFile, kind, object) {
    const errors = [];
    walk(object, resolve(modelFile, `I${kind}`), "", errors);
    return errors;
  };
}
