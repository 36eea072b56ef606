// What went wrong with a request, in the server's words when it gave any.

/** The server's reason for refusing `response`: its `problems`, its `detail`, or the status. */
export async function problemOf (response) {
  try {
    const body = await response.json()
    if (Array.isArray(body.problems) && body.problems.length > 0) return body.problems.join('; ')
    if (typeof body.detail === 'string') return body.detail
  } catch {
    // not JSON: fall through to the status
  }
  return `the server answered ${response.status}`
}
