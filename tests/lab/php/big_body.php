<?php
/* fpm lab: a 200 KiB body, many STDOUT records */
header('Content-Type: application/octet-stream');
echo str_repeat("0123456789abcdef", 12800);
