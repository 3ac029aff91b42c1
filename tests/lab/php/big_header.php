<?php
/* fpm lab: response headers bigger than fastcgi_buffer_size (4k), sent
 * at once (flush), then the script keeps its connection for 1 s so that
 * nginx, not php-fpm, closes first */
header('X-Big: ' . str_repeat('a', 8000));
echo "unreachable through nginx\n";
while (ob_get_level() > 0) {
    ob_end_flush();
}
flush();
sleep(1);
