// Short notices ("Ana joined") in a fixed corner, so the page never shifts under them.

const SHOW_MS = 4000
const MAX_VISIBLE = 4

export function createToaster (container) {
  return function toast (message) {
    const item = document.createElement('div')
    item.className = 'toast'
    item.textContent = message
    container.append(item)
    while (container.children.length > MAX_VISIBLE) container.firstElementChild.remove()
    setTimeout(() => {
      item.classList.add('leaving')
      setTimeout(() => item.remove(), 300)
    }, SHOW_MS)
  }
}
