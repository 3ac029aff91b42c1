<?php
/* fpm lab: Location without Status: 302 */
header('Location: /index.php');
