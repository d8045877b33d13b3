// Audits a running server against the GraphQL-over-HTTP specification with
// graphql-http's auditServer. Usage: node audit.mjs http://127.0.0.1:8080/graphql
// Prints one line per failed check and a closing count; exits 1 on any error
// or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
let errors = 0;
let warnings = 0;
for (const result of results) {
  if (result.status === 'error') {
    errors += 1;
    console.log(`ERROR ${result.name}: ${result.reason}`);
  } else if (result.status === 'warn') {
    warnings += 1;
    console.log(`WARN ${result.name}: ${result.reason}`);
  }
}
console.log(`audit: ${results.length} checks, ${errors} errors, ${warnings} warnings`);
process.exit(errors + warnings > 0 ? 1 : 0);
