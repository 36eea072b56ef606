// A note's Markdown cut into top-level blocks that render alone as they render
// together, so that a keystroke re-renders one block, not a 200 KB note.
//
// A block ends at a blank line, unless what follows continues it: an indented
// line (a nested list, a continued item, indented code), another item of a list
// the block holds (a loose list stays one list, its numbering intact), or
// anything inside a fenced code block or an open <details>. Link reference
// definitions apply across blocks: the lines that look like one are collected,
// and the preview lexes them once and lends what they define to every block
// (never their text: a footnote line would be repeated after each block).
// A note's front matter (title.js) is a block of its own, marked `frontMatter`,
// and a HackMD container (`:::info` to `:::`) is one block, like <details>.

import { frontMatter } from './title.js'

const FENCE = /^\s*(`{3,}|~{3,})/
const LIST_ITEM = /^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)/
const REFERENCE = /^ {0,3}\[(?:[^\]\\\n]|\\.)+\]:\s*\S/
// A task-list item's box, possibly inside quotes: the group ends just before `[`.
// marked draws a box only when text follows it.
export const TASK = /^((?:[ \t]*>)*[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]+)\[([ xX])\][ \t]+\S/

const count = (line, pattern) => (line.match(pattern) ?? []).length
const DETAILS_OPEN = /<details[\s>]/gi
const DETAILS_CLOSE = /<\/details\s*>/gi
const CONTAINER_OPEN = /^:::[ \t]*\w/
const CONTAINER_CLOSE = /^:::[ \t]*$/
const MATH_FENCE = /^ {0,3}\$\$[ \t]*$/ // a line of its own opens or closes a $$ block

/**
 * Cut `text` into blocks `{text, start, line, lines}` (`start`: offset of the
 * block in `text`; `line`: its first line, from 0; `lines`: how many it spans),
 * and collect the reference definitions (`references`, one per line).
 */
export function splitBlocks (text) {
  const front = frontMatter(text)
  if (front !== null) {
    const rest = cut(text.slice(front.end))
    const frontText = text.slice(0, front.end)
    const lines = frontText.split('\n').length - (frontText.endsWith('\n') ? 1 : 0)
    const head = { text: text.slice(0, front.end), start: 0, line: 0, lines, frontMatter: true }
    for (const block of rest.blocks) {
      block.start += front.end
      block.line += lines
    }
    return { blocks: [head, ...rest.blocks], references: rest.references }
  }
  return cut(text)
}

function cut (text) {
  const lines = text.split('\n')
  const blocks = []
  const references = []
  let fence = null // the fence that closes the open code block
  let details = 0
  let math = false
  let inList = false
  let blankBefore = false
  let first = 0 // first line of the current block
  let blockStart = 0
  let offset = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (fence !== null) {
      const close = FENCE.exec(line)
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length &&
          line.trim() === close[1]) fence = null
      offset += line.length + 1
      continue
    }
    const blank = line.trim() === ''
    if (!blank) {
      const continues = /^[ \t]/.test(line) || (inList && LIST_ITEM.test(line))
      if (blankBefore && i > first && details === 0 && !math && !continues) {
        blocks.push({ text: text.slice(blockStart, offset), start: blockStart, line: first, lines: i - first })
        first = i
        blockStart = offset
        inList = false
      }
      if (LIST_ITEM.test(line)) inList = true
      const open = FENCE.exec(line)
      if (open) fence = open[1]
      else {
        details = Math.max(0, details + count(line, DETAILS_OPEN) - count(line, DETAILS_CLOSE))
        if (MATH_FENCE.test(line)) math = !math // a $$ block may hold blank lines
        if (CONTAINER_OPEN.test(line)) details++
        else if (CONTAINER_CLOSE.test(line) && details > 0) details--
        if (REFERENCE.test(line)) references.push(line)
      }
    }
    blankBefore = blank
    offset += line.length + 1
  }
  if (blockStart < text.length || blocks.length === 0) {
    blocks.push({ text: text.slice(blockStart), start: blockStart, line: first, lines: lines.length - first })
  }
  return { blocks, references: references.join('\n') }
}

/** The offsets (in `text`) of the box of every task-list item, in order, outside code. */
export function taskBoxes (text) {
  const boxes = []
  let fence = null
  let offset = 0
  for (const line of text.split('\n')) {
    const marker = FENCE.exec(line)
    if (fence !== null) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length) fence = null
    } else if (marker) {
      fence = marker[1]
    } else {
      const task = TASK.exec(line)
      if (task) boxes.push(offset + task[1].length + 1) // the character between [ and ]
    }
    offset += line.length + 1
  }
  return boxes
}
