SELECT 1;;

  ;-- trailing
SELECT 2