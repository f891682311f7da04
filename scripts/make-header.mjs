// The C header the package installs for clients (include/iommufd_abi.h) is
// the one the conformance clients use (test/conformance/include/), whose
// output is compared with Linux's, under an opening comment for installed
// use. Made at build time so the header has one home.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = fs.readFileSync(path.join(root, 'test/conformance/include/iommufd_abi.h'), 'utf8');
const head = fs.readFileSync(path.join(root, 'scripts/iommufd_abi.head.h'), 'utf8');
const body = src.slice(src.indexOf('#ifndef IOMMUFD_EMU_ABI_H'));
fs.mkdirSync(path.join(root, 'include'), { recursive: true });
fs.writeFileSync(path.join(root, 'include/iommufd_abi.h'), head + body);
