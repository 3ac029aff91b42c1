<?php
/* fpm lab: a normal page (Content-Length set by PHP's output buffer) */
header('Content-Type: text/plain');
echo "hello from php-fpm ", $_SERVER['REQUEST_METHOD'], " ",
    $_SERVER['REQUEST_URI'], "\n";
$body = file_get_contents('php://input');
if ($body !== '') {
    echo "read ", strlen($body), " body bytes\n";
}
