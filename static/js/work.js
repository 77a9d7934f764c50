/*
 * Proof of work for the questionnaire (tipline/proof_of_work.py). Optional: without it the
 * form works the same, and the tip is counted in the lane for tips without work.
 *
 * The form's address carries a signed ticket. Find the first number n such that
 * SHA-256(ticket + ":" + n) starts with data-work-bits zero bits, then add n to the address as
 * "work". Nothing else is read, stored or sent; sending stays with the tipster's own click.
 */
(function () {
  "use strict";
  var form = document.querySelector("form[data-work-bits]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    return;
  }
  var bits = parseInt(form.getAttribute("data-work-bits"), 10);
  var address = new URL(form.getAttribute("action"), document.baseURI);
  var ticket = address.searchParams.get("ticket");
  if (!ticket || !(bits > 0)) {
    return;
  }
  var encoder = new TextEncoder();
  var batch = 512;
  // Give up after sixteen times the expected number of tries (about one chance in nine million
  // of giving up on a genuine search): the tip then simply goes without work.
  var limit = Math.pow(2, bits + 4);

  function zeroBits(digest) {
    var bytes = new Uint8Array(digest);
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        count += 8;
        continue;
      }
      var byte = bytes[i];
      while ((byte & 0x80) === 0) {
        count += 1;
        byte <<= 1;
      }
      break;
    }
    return count;
  }

  function search(start) {
    if (start >= limit) {
      return;
    }
    var digests = [];
    for (var n = start; n < start + batch; n++) {
      digests.push(window.crypto.subtle.digest("SHA-256", encoder.encode(ticket + ":" + n)));
    }
    Promise.all(digests).then(function (results) {
      for (var i = 0; i < results.length; i++) {
        if (zeroBits(results[i]) >= bits) {
          address.searchParams.set("work", String(start + i));
          form.setAttribute("action", address.pathname + address.search);
          return;
        }
      }
      // Let the page breathe between batches: typing must never lag behind.
      window.setTimeout(function () { search(start + batch); }, 0);
    });
  }

  search(0);
})();
