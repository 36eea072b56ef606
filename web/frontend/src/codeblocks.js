// Syntax highlighting for the preview's fenced code blocks, with highlight.js
// (its core and the languages notes use most: a tenth of the size of the Lezer
// grammars for as many languages). highlight.js escapes the code it wraps in
// spans; its output is still sanitised like everything else the preview inserts.

import hljs from 'highlight.js/lib/core'
import bash from 'highlight.js/lib/languages/bash'
import c from 'highlight.js/lib/languages/c'
import cpp from 'highlight.js/lib/languages/cpp'
import csharp from 'highlight.js/lib/languages/csharp'
import css from 'highlight.js/lib/languages/css'
import diff from 'highlight.js/lib/languages/diff'
import dockerfile from 'highlight.js/lib/languages/dockerfile'
import go from 'highlight.js/lib/languages/go'
import ini from 'highlight.js/lib/languages/ini'
import java from 'highlight.js/lib/languages/java'
import javascript from 'highlight.js/lib/languages/javascript'
import json from 'highlight.js/lib/languages/json'
import kotlin from 'highlight.js/lib/languages/kotlin'
import makefile from 'highlight.js/lib/languages/makefile'
import markdown from 'highlight.js/lib/languages/markdown'
import php from 'highlight.js/lib/languages/php'
import python from 'highlight.js/lib/languages/python'
import ruby from 'highlight.js/lib/languages/ruby'
import rust from 'highlight.js/lib/languages/rust'
import shell from 'highlight.js/lib/languages/shell'
import sql from 'highlight.js/lib/languages/sql'
import swift from 'highlight.js/lib/languages/swift'
import typescript from 'highlight.js/lib/languages/typescript'
import xml from 'highlight.js/lib/languages/xml'
import yaml from 'highlight.js/lib/languages/yaml'

const LANGUAGES = {
  bash, c, cpp, csharp, css, diff, dockerfile, go, ini, java, javascript, json, kotlin,
  makefile, markdown, php, python, ruby, rust, shell, sql, swift, typescript, xml, yaml
}
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language)

// Longer blocks stay plain: highlighting is for reading, not worth a hitch.
const MAX_CODE_CHARS = 50_000

/** The language a fenced block names (```js), from marked's `language-js` class. */
const languageOf = (code) =>
  [...code.classList].find((name) => name.startsWith('language-'))?.slice(9) ?? ''

/**
 * Highlight every fenced code block in `root` that names a known language.
 * `sanitize(html)` turns highlight.js's HTML into a DocumentFragment.
 */
export function highlightAll (root, sanitize) {
  for (const code of root.querySelectorAll('pre > code[class*="language-"]')) {
    const language = hljs.getLanguage(languageOf(code))
    const source = code.textContent
    if (!language || source.length > MAX_CODE_CHARS) continue
    const { value } = hljs.highlight(source, { language: languageOf(code), ignoreIllegals: true })
    code.replaceChildren(sanitize(value))
    code.classList.add('hljs')
  }
}
