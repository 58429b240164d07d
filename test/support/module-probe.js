// Preloaded into a child server (NODE_OPTIONS=--require): when it exits, it writes the file of
// every module it loaded to MODULE_PROBE_OUT, so a test can tell what a start pulled in.
const fs = require('node:fs');

process.on('exit', () => {
  if (process.env.MODULE_PROBE_OUT)
    fs.writeFileSync(process.env.MODULE_PROBE_OUT, JSON.stringify(Object.keys(require.cache)));
});
