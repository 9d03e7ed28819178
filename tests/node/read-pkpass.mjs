// Opens a pass that passwright produced with passkit-generator (a third-party library), the
// way a developer would inspect one: PKPass.from on the unzipped "<name>.pass" folder, then
// rebuilds it. Prints what the library understood as JSON for the Rust test to check.
// Usage: node read-pkpass.mjs <dir ending in .pass> <dir with signer.pem, signer.key, wwdr.pem>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PKPass } from "passkit-generator";

const [passDir, certDir] = process.argv.slice(2);
const pass = await PKPass.from({
  model: passDir,
  certificates: {
    wwdr: readFileSync(join(certDir, "wwdr.pem")),
    signerCert: readFileSync(join(certDir, "signer.pem")),
    signerKey: readFileSync(join(certDir, "signer.key")),
  },
});
const rebuilt = pass.getAsBuffer();
console.log(
  JSON.stringify({
    type: pass.type,
    serialNumber: pass.props.serialNumber,
    passTypeIdentifier: pass.props.passTypeIdentifier,
    barcodes: pass.props.barcodes,
    headerFields: pass.headerFields,
    primaryFields: pass.primaryFields,
    secondaryFields: pass.secondaryFields,
    auxiliaryFields: pass.auxiliaryFields,
    backFields: pass.backFields,
    languages: pass.languages,
    rebuiltBytes: rebuilt.length,
  }),
);
