from seemup.cli import main

main()
