<?php
/* fpm lab: sleep ?s= seconds (default 5) before any output */
$s = isset($_GET['s']) ? (float) $_GET['s'] : 5.0;
usleep((int) ($s * 1000000));
header('Content-Type: text/plain');
echo "slept $s s\n";
