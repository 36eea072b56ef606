// The emoji shortcode table (GitHub's and HackMD's :smile: codes), a file of its
// own: hackmd.js loads it only once a note uses a code, so the app's bundle does
// not carry 50 KB that most notes never need.
import table from 'markdown-it-emoji/lib/data/full.mjs'

window.collabNotesEmoji = table
