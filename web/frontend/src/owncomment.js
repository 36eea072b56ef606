// One's own comment in the comments panel: Edit (in place: a textarea, Save and Cancel,
// Esc cancels, the server's reason shown under it when it refuses) and Delete. The key
// this browser wrote the comment with is what lets it (PATCH or DELETE
// .../comments/{thread}/comments/{id}); everyone else sees the change through the
// server's notice, as a reply. An edit being written is kept in `drafts` (by comment
// id), so a notice that redraws the panel meanwhile does not lose it.

function button (text, className = 'link-button') {
  const made = document.createElement('button')
  made.type = 'button'
  made.className = className
  made.textContent = text
  return made
}

/**
 * @param {HTMLElement} item the comment's `li` (its `.comment-body` is hidden while editing)
 * @param {{id: number, thread: number, body: string}} comment
 * @param {object} o
 * @param {(path: string, method: string, body?: object, headers?: object) => Promise<any>} o.send
 * @param {() => string} o.key this browser's comment key
 * @param {(thread: object) => void} o.took a thread as the server answered it
 * @param {(work: Promise<any>) => Promise<any>} o.attempt toasts a failure
 * @param {Map<number, string>} o.drafts edits being written, by comment id
 */
export function ownControls (item, comment, o) {
  const path = `/${comment.thread}/comments/${comment.id}`
  const body = item.querySelector('.comment-body')
  const row = document.createElement('div')
  row.className = 'comment-own'
  const edit = button('Edit')
  edit.dataset.editComment = ''
  const remove = button('Delete')
  remove.dataset.deleteComment = ''
  row.append(edit, remove)
  item.append(row)
  row.addEventListener('click', (event) => event.stopPropagation()) // not a choice of the thread
  remove.addEventListener('click', () => o.attempt(send('DELETE', undefined, { 'X-Comment-Key': o.key() })))
  edit.addEventListener('click', () => open(comment.body).focus())

  function send (method, said, headers) { return o.send(path, method, said, headers) }

  function open (draft) {
    o.drafts.set(comment.id, draft)
    const form = document.createElement('div')
    form.className = 'comment-editing'
    const box = document.createElement('textarea')
    box.className = 'comment-edit'
    box.rows = 2
    box.value = draft
    box.setAttribute('aria-label', 'Edit your comment')
    const save = button('Save', '')
    save.dataset.saveComment = ''
    const cancel = button('Cancel', 'quiet')
    const problem = document.createElement('p')
    problem.className = 'comment-problem error'
    problem.setAttribute('role', 'alert')
    problem.hidden = true
    const buttons = document.createElement('div')
    buttons.className = 'thread-actions'
    buttons.append(save, cancel)
    form.append(box, buttons, problem)
    form.addEventListener('click', (event) => event.stopPropagation())
    body.hidden = row.hidden = true
    item.append(form)
    const close = () => {
      o.drafts.delete(comment.id)
      form.remove()
      body.hidden = row.hidden = false
      edit.focus()
    }
    box.addEventListener('input', () => o.drafts.set(comment.id, box.value))
    box.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return
      event.preventDefault()
      event.stopPropagation()
      close()
    })
    cancel.addEventListener('click', close)
    save.addEventListener('click', () => {
      save.disabled = true
      send('PATCH', { body: box.value, key: o.key() })
        .then((thread) => { o.drafts.delete(comment.id); o.took(thread) })
        .catch((refused) => {
          problem.textContent = `Not saved: ${refused.message}`
          problem.hidden = false
          box.setAttribute('aria-invalid', 'true')
          box.focus()
        })
        .finally(() => { save.disabled = false })
    })
    return box
  }

  if (o.drafts.has(comment.id)) open(o.drafts.get(comment.id))
}
