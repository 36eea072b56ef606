// A note's own files, as its text names them: `attachment:<sha256 hex>`, never a token.
// Every renderer gives such a name the address of the file under the token of the page
// showing it (`/api/notes/<token>/files/<id>`, served for either link of the note), so
// a view page only ever carries view-token addresses; the server's first paint does the
// same (web/rendering.py `with_files`).

const ATTACHMENT = /^attachment:([0-9a-f]{64})$/

let pageToken = null // null: the page's own, from <body data-token>
const listeners = new Set()

const currentToken = () => pageToken ?? document.body?.dataset.token ?? ''

/** The token file addresses are made with (it changes when the page's link is replaced). */
export const fileToken = currentToken

/** Address files through `token` from now on, and tell the renderers to render again. */
export function setFileToken (token) {
  if (token === currentToken()) return
  pageToken = token
  for (const listener of listeners) listener()
}

/** Call `listener` when the token of file addresses changes. */
export function onFileTokenChanged (listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Whether `text` may name a file (to key what a renderer keeps by the token too). */
export const namesFiles = (text) => text.includes('attachment:')

/** The address of the file `value` names (`attachment:<id>`), or null if it names none. */
export function fileAddress (value) {
  const match = ATTACHMENT.exec(value)
  const token = currentToken()
  return match === null || token === '' ? null : `/api/notes/${token}/files/${match[1]}`
}
