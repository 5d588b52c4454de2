// Expected strings were captured from the reference Glance 25.1 (webob) with curl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorFormatFor, renderErrorBody } from '../../src/http/error-body.ts';

const forbidden = { status: 403, title: 'Forbidden', explanation: 'Access was denied to this resource.',
  detail: "Attribute 'os_glance_foo' is reserved." };
const notFound = { status: 404, title: 'Not Found', explanation: 'No image found with ID abc', detail: '' };
const notAllowed = { status: 405, title: 'Method Not Allowed',
  explanation: 'The method PUT is not allowed for this resource.', detail: '', template: 'method' as const };

test('Accept decides the format: JSON, HTML for */* and text/html, plain when absent or other', () => {
  assert.equal(errorFormatFor('application/json'), 'json');
  assert.equal(errorFormatFor('*/*'), 'html');
  assert.equal(errorFormatFor('text/html'), 'html');
  assert.equal(errorFormatFor(undefined), 'plain');
  assert.equal(errorFormatFor('text/plain'), 'plain');
  assert.equal(errorFormatFor('application/json', true), 'plain');
  assert.equal(errorFormatFor('*/*', true), 'html');
});

test('JSON bodies match webob byte for byte', () => {
  assert.equal(renderErrorBody('json', forbidden).body,
    '{"message":"Access was denied to this resource.<br /><br />\\nAttribute \'os_glance_foo\' is reserved.\\n\\n",'
    + '"code":"403 Forbidden","title":"Forbidden"}');
  assert.deepEqual(JSON.parse(renderErrorBody('json', notFound).body),
    { message: 'No image found with ID abc<br /><br />\n\n\n', code: '404 Not Found', title: 'Not Found' });
  assert.deepEqual(JSON.parse(renderErrorBody('json', notAllowed).body), {
    message: 'The method PUT is not allowed for this resource. <br /><br />\n',
    code: '405 Method Not Allowed', title: 'Method Not Allowed' });
});

test('plain bodies match webob', () => {
  const plain = renderErrorBody('plain', forbidden);
  assert.equal(plain.contentType, 'text/plain; charset=UTF-8');
  assert.equal(plain.body, "403 Forbidden\n\nAccess was denied to this resource.\n\n Attribute 'os_glance_foo' is reserved.  ");
  assert.equal(renderErrorBody('plain', notFound).body, '404 Not Found\n\nNo image found with ID abc\n\n   ');
  assert.equal(renderErrorBody('plain', notAllowed).body,
    '405 Method Not Allowed\n\nThe method PUT is not allowed for this resource. \n\n ');
});

test('HTML bodies match webob and escape the message', () => {
  const html = renderErrorBody('html', forbidden);
  assert.equal(html.contentType, 'text/html; charset=UTF-8');
  assert.equal(html.body, '<html>\n <head>\n  <title>403 Forbidden</title>\n </head>\n <body>\n'
    + '  <h1>403 Forbidden</h1>\n  Access was denied to this resource.<br /><br />\n'
    + 'Attribute &#x27;os_glance_foo&#x27; is reserved.\n\n\n </body>\n</html>');
  assert.equal(renderErrorBody('html', notFound).body.length, 148);
  assert.equal(renderErrorBody('html', notAllowed).body.length, 187);
  assert.match(renderErrorBody('html', { ...notFound, explanation: '<script>' }).body, /&lt;script&gt;/);
});
