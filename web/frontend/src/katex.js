// KaTeX, a file of its own: hackmd.js loads it only once a note has math ($...$ or $$...$$).
import katex from 'katex'

window.collabNotesKatex = katex
