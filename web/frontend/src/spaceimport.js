// Importing into a space from its page: a .zip goes to the server whole (it answers
// file by file); several Markdown files become notes one request at a time, with
// their progress shown as they go.

const MAX_NOTE_CHARS = 2_000_000 // web/routes/api.py MAX_INITIAL_CONTENT_CHARS

function line (text, className = '') {
  const item = document.createElement('li')
  item.textContent = text
  if (className) item.className = className
  return item
}

async function problemOf (response) {
  const body = await response.json().catch(() => ({}))
  return typeof body.detail === 'string' ? body.detail : `the server answered ${response.status}`
}

export class SpaceImport {
  constructor (token, report, onDone) {
    this.token = token
    this.report = report
    this.onDone = onDone
  }

  show (heading, items) {
    const title = document.createElement('p')
    title.textContent = heading
    const list = document.createElement('ul')
    list.append(...items)
    this.report.replaceChildren(title, list)
    this.report.hidden = false
  }

  async files (files) {
    const zips = files.filter((file) => /\.zip$/i.test(file.name))
    if (zips.length) await this.zip(zips[0])
    const texts = files.filter((file) => !/\.zip$/i.test(file.name))
    if (texts.length) await this.markdown(texts)
    this.onDone()
  }

  async zip (file) {
    this.show(`Importing ${file.name}…`, [])
    const response = await fetch(`/api/spaces/${this.token}/import`, {
      method: 'POST', headers: { 'Content-Type': 'application/zip' }, body: file
    })
    if (!response.ok) {
      this.show(`Could not import ${file.name}: ${await problemOf(response)}.`, [])
      return
    }
    const { imported, refused } = await response.json()
    this.show(`Imported ${imported.length} of ${imported.length + refused.length} files from ${file.name}.`, [
      ...imported.map((done) => line(`${done.file}: “${done.title || 'Untitled note'}”`, 'ok')),
      ...refused.map((left) => line(`${left.file}: ${left.reason}`, 'refused'))
    ])
  }

  async markdown (files) {
    const items = []
    for (const [index, file] of files.entries()) {
      this.show(`Importing file ${index + 1} of ${files.length}…`, items)
      const text = await file.text()
      if (text.length > MAX_NOTE_CHARS) {
        items.push(line(`${file.name}: refused: over ${MAX_NOTE_CHARS} characters`, 'refused'))
        continue
      }
      const response = await fetch(`/api/spaces/${this.token}/notes`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ content: text })
      })
      items.push(response.ok
        ? line(`${file.name}: “${(await response.json()).title || 'Untitled note'}”`, 'ok')
        : line(`${file.name}: refused: ${await problemOf(response)}`, 'refused'))
    }
    const done = items.filter((item) => item.className === 'ok').length
    this.show(`Imported ${done} of ${files.length} files.`, items)
  }
}
