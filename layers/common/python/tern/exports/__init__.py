"""Acting on a segment's current members: exports (CSV, XLSX, hashed custom-audience files), webhook
hand-offs, and bulk changes of tags, categories and consents (Tern's overlay). Each is a job run by the
export function; one requested while its segment is being evaluated is planned and runs once the
evaluation ends (tern.exports.jobs)."""
