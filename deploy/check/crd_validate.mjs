// Validates custom resources against the CRD schemas of Istio, the Prometheus Operator and Argo CD, as
// compiled into validators by the @kubernetes-models npm packages (installed by deploy/check/tools.sh).
// Input: a JSON array of objects on stdin. Output: one JSON line per object {kind, name, errors}.
// Every object is also walked along the packages' TypeScript declarations (crd_fields.mjs): an unknown
// field fails, which the compiled validators alone would let through.
// Exit 1 if any object is invalid or of a kind without a validator here.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fieldChecker } from "./crd_fields.mjs";

const PACKAGES = {
  "networking.istio.io/v1": ["@kubernetes-models/istio", ["Gateway", "VirtualService", "DestinationRule"]],
  "security.istio.io/v1": ["@kubernetes-models/istio", ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"]],
  "monitoring.coreos.com/v1": ["@kubernetes-models/prometheus-operator", ["ServiceMonitor", "PrometheusRule"]],
  "argoproj.io/v1alpha1": ["@kubernetes-models/argo-cd", ["Application", "ApplicationSet", "AppProject"]],
};

const modules = process.argv[2];  // .tools/crd-validate/node_modules
const objects = JSON.parse(readFileSync(0, "utf8"));
const unknownFields = fieldChecker(modules);
let failed = 0;
for (const object of objects) {
  const name = object.metadata?.name;
  const entry = PACKAGES[object.apiVersion];
  let errors = [];
  if (!entry || !entry[1].includes(object.kind)) {
    errors = [`no CRD validator for ${object.apiVersion} ${object.kind}`];
  } else {
    const file = path.join(modules, entry[0], object.apiVersion.split("/")[0], object.apiVersion.split("/")[1], `${object.kind}.js`);
    const model = await import(file);
    try {
      new model[object.kind](object).validate();
    } catch (error) {
      errors = [String(error.message || error)];
    }
    errors = errors.concat(unknownFields(file.replace(/\.js$/, ".d.ts"), object.kind, object));
  }
  if (errors.length) failed++;
  console.log(JSON.stringify({ apiVersion: object.apiVersion, kind: object.kind, name, errors }));
}
process.exit(failed ? 1 : 0);
