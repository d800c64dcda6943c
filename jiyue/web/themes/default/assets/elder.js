/* Applies the visitor's 关怀版 (elder mode) choice before the page paints. */
try{if(localStorage.getItem("jiyue-elder")==="1"){document.documentElement.classList.add("elder")}}catch(e){}
